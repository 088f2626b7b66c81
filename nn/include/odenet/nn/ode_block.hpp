#pragma once
// ODEBlock: a layer whose output is the solution at t1 of dh/dt = f(t, h) from h(t0) = x, as the
// Neural ODE paper's ODE-Net block (Chen et al., 2018). f is a TimeLayer (its parameters are
// this block's), the gradient mode is any of odeint's (ode/odeint.hpp).
#include <memory>

#include "odenet/nn/module.hpp"
#include "odenet/ode/odeint.hpp"

namespace odenet::nn {

struct ODEBlockOptions {
    double t0 = 0.0;
    double t1 = 1.0;
    ode::Grad grad = ode::Grad::adjoint;
    /// The paper's ODE-Net uses dopri5 at rtol = atol = 1e-3.
    ode::Options solver{.method = ode::Method::dopri5, .rtol = 1e-3, .atol = 1e-3};
    ode::AdjointOptions adjoint{};
};

class ODEBlock : public Layer {
public:
    explicit ODEBlock(std::shared_ptr<TimeLayer> dynamics, ODEBlockOptions options = {});

    /// h(t1) for h(t0) = x; same shape as x.
    Var forward(const Var& x) override;
    /// The states at every time of ts (1-d, float64): shape (len(ts), *x.shape).
    Var trajectory(const Var& x, const Var& ts);

    /// Function evaluations of the last forward solve, and of the last backward pass (adjoint
    /// and checkpointed modes; 0 for direct, whose backward evaluates no f).
    std::size_t last_nfe() const { return stats_->forward.nfe; }
    std::size_t last_backward_nfe() const { return stats_->backward.nfe; }
    const ode::OdeintStats& last_stats() const { return *stats_; }

    TimeLayer& dynamics() { return *dynamics_; }
    ODEBlockOptions options;

private:
    std::shared_ptr<TimeLayer> dynamics_;
    std::shared_ptr<ode::OdeintStats> stats_ = std::make_shared<ode::OdeintStats>();
};

}  // namespace odenet::nn
