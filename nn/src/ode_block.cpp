#include "odenet/nn/ode_block.hpp"

#include <limits>

#include "odenet/autodiff/ops.hpp"
#include "odenet/nn/odeint.hpp"

namespace odenet::nn {

ODEBlock::ODEBlock(std::shared_ptr<TimeLayer> dynamics, ODEBlockOptions options)
    : options(std::move(options)), dynamics_(std::move(dynamics)) {
    if (!dynamics_) throw ValueError("ODEBlock", "the dynamics module is null");
    register_module("dynamics", dynamics_);
}

namespace {

// [x, zeros] along axis 1: x with p zero features or channels. The zeros need no gradient, so
// concat's backward hands x its slice of the gradient and nothing else.
Var augmented(const Var& x, std::size_t p) {
    if (p == 0) return x;
    if (p > std::numeric_limits<std::size_t>::max() / 2)
        throw ValueError("ODEBlock", "augment = " + std::to_string(p) +
                                         " is a count of zero features; this looks like a negative value converted");
    if (x.dim() < 2)
        throw ShapeError("ODEBlock", "augment = " + std::to_string(p) + " appends along axis 1 and needs a state "
                                     "(batch, features) or (batch, channels, H, W), got shape " + shape_str(x.shape()));
    Shape zeros_shape = x.shape();
    zeros_shape[1] = p;
    return concat({x, zeros(zeros_shape, x.dtype())}, 1);
}

std::string augmentation_note(const Shape& x_shape, std::size_t p) {
    if (p == 0) return "";
    return " (x of shape " + shape_str(x_shape) + " augmented by p = " + std::to_string(p) +
           " zeros along axis 1: the dynamics must take and return " + std::to_string(x_shape[1] + p) +
           " features or channels there)";
}

}  // namespace

// f wrapped so that a state/output mismatch names this block, p and the state's shape, rather
// than surfacing as the solver's "shape mismatch" SolverError (or a layer's ShapeError) far from
// the forgotten widening. The wrapper holds the module by shared_ptr, as nn::odeint's does.
Var ODEBlock::trajectory(const Var& x, const Var& ts) {
    const std::size_t p = options.augment;
    const Var h0 = augmented(x, p);
    const std::string note = augmentation_note(x.shape(), p);
    auto f = [dynamics = dynamics_, p, note](const Var& t, const Var& h) {
        Var out;
        try {
            out = dynamics->forward(t, h);
        } catch (const ShapeError& e) {
            if (p == 0) throw;
            throw ShapeError("ODEBlock", std::string("the dynamics failed on the state of shape ") +
                                             shape_str(h.shape()) + note + ": " + e.what());
        }
        if (out.shape() != h.shape())
            throw ShapeError("ODEBlock", "the dynamics returned shape " + shape_str(out.shape()) +
                                             " for a state of shape " + shape_str(h.shape()) + note);
        return out;
    };
    const ParameterList params = parameter_list(*dynamics_);
    ode::OdeintSolution sol = ode::detail::odeint_named(f, h0, ts, params.vars, params.names, options.odeint);
    Var ys = std::move(sol.ys);
    last_ = std::move(sol);  // the statistics only: holding ys would keep the whole graph alive
    if (p > 0 && options.drop_augmented) return slice(ys, 2, 0, x.shape()[1]);
    return ys;
}

Var ODEBlock::forward(const Var& x) {
    Var ys = trajectory(x, Var(Tensor<double>{options.t0, options.t1}));
    Shape shape = ys.shape();
    shape.erase(shape.begin());
    return reshape(index_select(ys, 0, {1}), shape);
}

}  // namespace odenet::nn
