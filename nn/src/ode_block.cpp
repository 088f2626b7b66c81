#include "odenet/nn/ode_block.hpp"

#include "odenet/autodiff/ops.hpp"

namespace odenet::nn {

ODEBlock::ODEBlock(std::shared_ptr<TimeLayer> dynamics, ODEBlockOptions options)
    : options(std::move(options)), dynamics_(std::move(dynamics)) {
    if (!dynamics_) throw ValueError("ODEBlock", "the dynamics module is null");
    register_module("dynamics", dynamics_);
}

Var ODEBlock::trajectory(const Var& x, const Var& ts) {
    TimeLayer* f = dynamics_.get();
    *stats_ = {};
    return ode::odeint([f](const Var& t, const Var& h) { return f->forward(t, h); }, x, ts, dynamics_->parameters(),
                       {.solver = options.solver, .grad = options.grad, .adjoint = options.adjoint}, stats_);
}

Var ODEBlock::forward(const Var& x) {
    Var ys = trajectory(x, Var(Tensor<double>{options.t0, options.t1}));
    return reshape(index_select(ys, 0, {1}), x.shape());
}

}  // namespace odenet::nn
