#include "odenet/autodiff/jacobian.hpp"

#include "odenet/autodiff/engine.hpp"
#include "odenet/autodiff/grad_mode.hpp"
#include "odenet/core/error.hpp"

namespace odenet {

namespace {

template <class T>
Tensor<double> jacobian_of(const std::function<Var(const Var&)>& f, const Var& x, std::size_t blocks) {
    const std::size_t n = x.numel();
    if (blocks == 0 || n % blocks != 0)
        throw ShapeError("jacobian", "blocks " + std::to_string(blocks) + " does not divide the " + std::to_string(n) +
                                         " entries of x (shape " + shape_str(x.shape()) + ")");
    const std::size_t m = n / blocks;
    Tensor<double> J = Tensor<double>::from_shape({blocks, m, m});
    std::fill(J.begin(), J.end(), 0.0);
    EnableGradGuard recording;
    Var leaf(x.value(), true);
    Var out = f(leaf);
    if (!out.defined() || out.numel() != n)
        throw ShapeError("jacobian", "f returned " + (out.defined() ? std::to_string(out.numel()) : std::string("no")) +
                                         " entries for an x of " + std::to_string(n) + " (shape " +
                                         shape_str(x.shape()) + "): the Jacobian must be square");
    if (!out.requires_grad()) return J;  // f does not depend on x (nor on anything trainable)
    Tensor<T> seed = Tensor<T>::from_shape(out.shape());
    for (std::size_t r = 0; r < m; ++r) {
        std::fill(seed.begin(), seed.end(), T(0));
        for (std::size_t b = 0; b < blocks; ++b) seed.data()[b * m + r] = T(1);
        const Var g = grad(out, leaf, Var(seed), {.retain_graph = true, .allow_unused = true});
        const Tensor<T>& gv = g.value().template as<T>();
        for (std::size_t b = 0; b < blocks; ++b)
            for (std::size_t c = 0; c < m; ++c) J.data()[(b * m + r) * m + c] = static_cast<double>(gv.data()[b * m + c]);
    }
    return J;
}

}  // namespace

Tensor<double> jacobian(const std::function<Var(const Var&)>& f, const Var& x, std::size_t blocks) {
    if (!x.defined()) throw ValueError("jacobian", "x is an undefined Var");
    return x.dtype() == Dtype::float32 ? jacobian_of<float>(f, x, blocks) : jacobian_of<double>(f, x, blocks);
}

}  // namespace odenet
