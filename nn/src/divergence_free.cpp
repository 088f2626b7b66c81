// Divergence-free dynamics f = Σₖ Sₖ ∇Hₖ. See divergence_free.hpp for the equations.
#include "odenet/nn/divergence_free.hpp"

#include <cmath>
#include <xtensor/xview.hpp>

#include "odenet/autodiff/engine.hpp"
#include "odenet/autodiff/grad_mode.hpp"
#include "odenet/autodiff/ops.hpp"
#include "odenet/core/error.hpp"
#include "odenet/nn/init.hpp"
#include "odenet/nn/linear.hpp"

namespace odenet::nn {

// Note [Declaring zero divergence]
// A dynamics says "my divergence is 0" by deriving from DivergenceFreeDynamics, a
// DynamicsWithTrace whose trace is a constant zero column. The CNF then uses its existing rule
// for closed-form traces: forward_with_trace replaces the VJPs, whichever estimator is asked
// for, unless the Jacobian regulariser (which needs ∂f/∂z itself) is on. The alternative, a
// marker that makes the CNF drop the Δ column from the state, was not taken: it saves one
// column of N numbers next to a field that costs K VJPs of a network per evaluation, but it
// would give transform, inverse, the regulariser columns and the adjoint a second state layout,
// and FlowResult would have to invent delta_logp anyway. The zero column costs nothing to
// integrate and stays exactly 0 (every stage adds 0), and it does not depend on any parameter,
// so the adjoint's VJP gets nothing from it. The same zero trace also keeps the step-size
// control identical to the VJP path's, whose Δ column is 0 to rounding: both solves see the
// same state width in the error norm.
FieldAndTrace DivergenceFreeDynamics::forward_with_trace(const Var& t, const Var& z) {
    Var field = forward(t, z);
    const std::size_t n = field.dim() > 0 ? field.shape()[0] : 0;
    return {field, zeros({n, 1}, field.dtype())};
}

namespace {

// e_k as a batch of cotangents for h (N, K): zeros with column k set to one, in h's dtype.
Var unit_column(const Var& h, std::size_t k) {
    return h.value().visit([&](const auto& v) {
        using T = typename std::decay_t<decltype(v)>::value_type;
        Tensor<T> e = xt::zeros<T>(v.shape());
        xt::view(e, xt::all(), k) = T(1);
        return Var(std::move(e));
    });
}

void check_sizes(std::size_t dim, const DivergenceFreeOptions& o) {
    if (dim < 2)
        throw ValueError("DivergenceFree", "needs dim >= 2 (an antisymmetric 1x1 matrix is 0), got " + std::to_string(dim));
    if (o.potentials == 0) throw ValueError("DivergenceFree", "needs potentials (K) >= 1, got 0");
}

std::size_t checked_dim(const std::shared_ptr<TimeLayer>& potential, std::size_t dim, const DivergenceFreeOptions& o) {
    if (!potential) throw ValueError("DivergenceFree", "the potential network is null");
    check_sizes(dim, o);
    return dim;
}

}  // namespace

DivergenceFree::DivergenceFree(std::shared_ptr<TimeLayer> potential, std::size_t dim, DivergenceFreeOptions options)
    : potential_(std::move(potential)), dim_(checked_dim(potential_, dim, options)), options_(options) {
    weight = zeros({options_.potentials, dim_, dim_}, options_.dtype);
    const double bound = 1.0 / std::sqrt(double(dim_));
    init::uniform_(weight, -bound, bound);
    register_module("potential", potential_);
    register_parameter("weight", weight);
}

Var DivergenceFree::coupling() const { return weight - transpose(weight); }

// Note [Recording scope of DivergenceFree]
// ∇H needs z on the tape even when the caller records nothing (the adjoint's forward solve runs
// under NoGradGuard) or z is a constant (data, direct mode's first stage): a nested recording
// scope evaluates H at z, or at a leaf copy of it, and takes the K VJPs. Under grad mode they
// are recorded (create_graph), so f is a function of z, t and every parameter to any order;
// otherwise only their values leave the scope and the graph of H dies with it.
Var DivergenceFree::gradients(const Var& t, const Var& z) {
    const std::size_t n = z.shape()[0], k_count = options_.potentials;
    const bool record = GradMode::enabled();
    EnableGradGuard recording;
    const Var zz = z.requires_grad() ? z : Var(z.value(), true);
    const Var h = (*potential_)(t, zz);
    if (h.dim() != 2 || h.shape()[0] != n || h.shape()[1] != k_count)
        throw ShapeError("DivergenceFree", "the potential must return (N, K) = (" + std::to_string(n) + ", " +
                                               std::to_string(k_count) + ") for states " + shape_str(z.shape()) +
                                               ", got " + shape_str(h.shape()));
    if (!h.requires_grad()) return zeros({n, k_count * dim_}, z.dtype());  // H does not depend on z
    std::vector<Var> g;
    for (std::size_t k = 0; k < k_count; ++k) {
        // retain_graph: one evaluation of H serves every k. Row s of the result is ∇Hₖ at z_s,
        // since H acts on each sample alone.
        g.push_back(grad(h, zz, unit_column(h, k), {.retain_graph = true, .create_graph = record, .allow_unused = true}));
    }
    const Var all = k_count == 1 ? g[0] : concat(g, 1);
    return record ? all : all.detach();
}

Var DivergenceFree::forward(const Var& t, const Var& z) {
    if (z.dim() != 2 || z.shape()[1] != dim_)
        throw ShapeError("DivergenceFree", "expects states (N, " + std::to_string(dim_) + "), got " + shape_str(z.shape()));
    if (z.dtype() != weight.dtype())
        throw DtypeError("DivergenceFree", std::string("states are ") + dtype_name(z.dtype()) + " but W is " +
                                               dtype_name(weight.dtype()));
    const Var g = gradients(t, z);  // (N, K n)
    // fᵢ = Σₖ Σⱼ (Sₖ)ᵢⱼ ∂ⱼHₖ = (G M)ᵢ with M[k n + j, i] = (Sₖ)ᵢⱼ: M stacks the Sₖᵀ, one GEMM for all k.
    return matmul(g, reshape(transpose(coupling()), {options_.potentials * dim_, dim_}));
}

namespace {

// H = act(MLP(t, z)) Vᵀ: the ConcatSquash stack dim -> hidden... ending in the last hidden width,
// the activation, then a head without bias. A bias in the last layer (Linear's, or
// ConcatSquash's hyper_bias(t)) would add to H a term constant in z, which ∇ removes: a
// parameter that never acts, whose gradient the engine refuses to invent (the Hamiltonian neural
// networks of Greydanus, Dzamba & Yosinski, 2019, NeurIPS, drop their last bias likewise).
class ConcatSquashPotential : public TimeLayer {
public:
    ConcatSquashPotential(std::size_t dim, const std::vector<std::size_t>& hidden, std::size_t k, Activation activation,
                          Dtype dtype)
        : net(std::make_shared<ConcatSquashMLP>(dim, std::vector<std::size_t>(hidden.begin(), hidden.end() - 1),
                                                activation, dtype, hidden.back())),
          head(hidden.back(), k, {.bias = false, .dtype = dtype}),
          activation_(activation) {
        register_module("net", net);
        register_module("head", head);
    }
    Var forward(const Var& t, const Var& z) override {
        const Var h = net->forward(t, z);
        return head(activation_ == Activation::tanh ? tanh(h) : softplus(h));
    }

    std::shared_ptr<ConcatSquashMLP> net;
    Linear head;

private:
    Activation activation_;
};

}  // namespace

std::shared_ptr<DivergenceFree> make_divergence_free(std::size_t dim, const std::vector<std::size_t>& hidden,
                                                     DivergenceFreeOptions options, Activation activation) {
    check_sizes(dim, options);  // before the potential is built, so that the error names this layer
    if (hidden.empty())
        throw ValueError("make_divergence_free", "needs at least one hidden layer (a potential linear in z has a "
                                                 "constant gradient)");
    auto potential = std::make_shared<ConcatSquashPotential>(dim, hidden, options.potentials, activation, options.dtype);
    return std::make_shared<DivergenceFree>(std::move(potential), dim, options);
}

}  // namespace odenet::nn
