#include "odenet/nn/ode_block.hpp"

#include "odenet/autodiff/ops.hpp"
#include "odenet/nn/augment.hpp"
#include "odenet/nn/odeint.hpp"

namespace odenet::nn {

ODEBlock::ODEBlock(std::shared_ptr<TimeLayer> dynamics, ODEBlockOptions options)
    : options(std::move(options)), dynamics_(std::move(dynamics)) {
    if (!dynamics_) throw ValueError("ODEBlock", "the dynamics module is null");
    register_module("dynamics", dynamics_);
}

// The augmentation, the shape checks and their messages are nn/augment.hpp's, shared with
// nn::odeint's Augment overloads. The dynamics holds the module by shared_ptr, as nn::odeint's does.
Var ODEBlock::trajectory(const Var& x, const Var& ts) {
    const std::size_t p = options.augment;
    const Var h0 = append_zeros(x, p, "ODEBlock");
    const ode::Dynamics f = shape_checked([dynamics = dynamics_](const Var& t, const Var& h) { return dynamics->forward(t, h); },
                                          x.shape(), p, "ODEBlock");
    const ParameterList params = parameter_list(*dynamics_);
    ode::OdeintSolution sol = ode::detail::odeint_named(f, h0, ts, params.vars, params.names, options.odeint);
    Var ys = std::move(sol.ys);
    last_ = std::move(sol);  // the statistics only: holding ys would keep the whole graph alive
    if (p > 0 && options.drop_augmented) return drop_augmented(ys, x.shape()[1]);
    return ys;
}

Var ODEBlock::forward(const Var& x) {
    Var ys = trajectory(x, Var(Tensor<double>{options.t0, options.t1}));
    Shape shape = ys.shape();
    shape.erase(shape.begin());
    return reshape(index_select(ys, 0, {1}), shape);
}

}  // namespace odenet::nn
