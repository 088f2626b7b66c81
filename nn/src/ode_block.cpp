#include "odenet/nn/ode_block.hpp"

#include "odenet/autodiff/ops.hpp"
#include "odenet/nn/odeint.hpp"

namespace odenet::nn {

ODEBlock::ODEBlock(std::shared_ptr<TimeLayer> dynamics, ODEBlockOptions options)
    : options(std::move(options)), dynamics_(std::move(dynamics)) {
    if (!dynamics_) throw ValueError("ODEBlock", "the dynamics module is null");
    register_module("dynamics", dynamics_);
}

Var ODEBlock::trajectory(const Var& x, const Var& ts) {
    ode::OdeintSolution sol = nn::odeint(dynamics_, x, ts, options.odeint);
    Var ys = std::move(sol.ys);
    last_ = std::move(sol);  // the statistics only: holding ys would keep the whole graph alive
    return ys;
}

Var ODEBlock::forward(const Var& x) {
    Var ys = trajectory(x, Var(Tensor<double>{options.t0, options.t1}));
    return reshape(index_select(ys, 0, {1}), x.shape());
}

}  // namespace odenet::nn
