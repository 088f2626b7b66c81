// The hypernetwork planar CNF dynamics. See hyper_planar.hpp for the equations.
#include "odenet/nn/hyper_planar.hpp"

#include "odenet/autodiff/ops.hpp"
#include "odenet/core/error.hpp"
#include "odenet/nn/concat_layers.hpp"

namespace odenet::nn {

namespace {
// The options, once checked: called first in the constructor's initialiser list, so that no
// layer is built with a size of 0.
const HyperPlanarOptions& checked(std::size_t dim, const HyperPlanarOptions& o) {
    if (dim == 0 || o.width == 0 || o.hidden == 0)
        throw ValueError("HyperPlanar", "dim, width and hidden must be > 0, got dim " + std::to_string(dim) +
                                            ", width " + std::to_string(o.width) + ", hidden " + std::to_string(o.hidden));
    return o;
}
}  // namespace

HyperPlanar::HyperPlanar(std::size_t dim, HyperPlanarOptions options)
    : time_in(1, checked(dim, options).hidden, {.dtype = options.dtype}),
      time_hidden(options.hidden, options.hidden, {.dtype = options.dtype}),
      time_out(options.hidden, options.width * (2 * dim + 2), {.dtype = options.dtype}),
      dim_(dim),
      options_(options) {
    register_module("time_in", time_in);
    register_module("time_hidden", time_hidden);
    register_module("time_out", time_out);
}

PlanarUnits HyperPlanar::units(const Var& t) {
    const std::size_t m = options_.width, d = dim_;
    const Var tt = reshape(time_as(t, time_in.weight.dtype()), {1, 1});
    const Var params = time_out(tanh(time_hidden(tanh(time_in(tt)))));  // (1, M (2d + 2))
    return {reshape(slice(params, 1, 0, m * d), {m, d}), reshape(slice(params, 1, m * d, 2 * m * d), {m, d}),
            sigmoid(slice(params, 1, 2 * m * d, 2 * m * d + m)), slice(params, 1, 2 * m * d + m, 2 * m * d + 2 * m)};
}

Var HyperPlanar::activations(const PlanarUnits& p, const Var& z) const {
    if (z.dim() != 2 || z.shape()[1] != dim_)
        throw ShapeError("HyperPlanar", "expects states (N, " + std::to_string(dim_) + "), got " + shape_str(z.shape()));
    return tanh(gemm(z, p.w, false, true) + p.b);
}

Var HyperPlanar::forward(const Var& t, const Var& z) {
    const PlanarUnits p = units(t);
    return matmul(activations(p, z) * p.gate, p.u);  // Σₙ σₙ tanh(·)ₙ uₙᵀ: (N, M) (M, d)
}

FieldAndTrace HyperPlanar::forward_with_trace(const Var& t, const Var& z) {
    const PlanarUnits p = units(t);
    const Var h = activations(p, z);
    const Var field = matmul(h * p.gate, p.u);
    // ∂f/∂z = Σₙ σₙ uₙ (1 − hₙ²) wₙᵀ, so its trace is Σₙ σₙ (uₙᵀ wₙ) (1 − hₙ²).
    const Var coupling = p.gate * reshape(sum(p.u * p.w, {1}), {1, options_.width});  // (1, M)
    const Var trace = sum(rsub(1.0, square(h)) * coupling, {1}, /*keepdims=*/true);    // (N, 1)
    return {field, trace};
}

}  // namespace odenet::nn
