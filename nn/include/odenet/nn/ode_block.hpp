#pragma once
// ODEBlock: a layer whose output is the solution at t1 of dh/dt = f(t, h) from h(t0) = x, as the
// Neural ODE paper's ODE-Net block (Chen et al., 2018). f is a TimeLayer (its parameters are
// this block's); the solve is nn::odeint's, with its options and defaults (odeint/odeint.hpp).
#include <memory>
#include <optional>

#include "odenet/nn/module.hpp"
#include "odenet/odeint/odeint.hpp"

namespace odenet::nn {

struct ODEBlockOptions {
    double t0 = 0.0;
    double t1 = 1.0;
    /// Solver, tolerances and gradient mode: odeint's defaults unless set (the paper's ODE-Net
    /// uses dopri5 at rtol = atol = 1e-3, as examples/mnist sets).
    ode::OdeintOptions odeint{};
};

class ODEBlock : public Layer {
public:
    /// ValueError for a null dynamics module.
    explicit ODEBlock(std::shared_ptr<TimeLayer> dynamics, ODEBlockOptions options = {});

    /// h(t1) for h(t0) = x; same shape as x.
    Var forward(const Var& x) override;
    /// The states at every time of ts (1-d, float64): shape (len(ts), *x.shape).
    Var trajectory(const Var& x, const Var& ts);

    /// Cost of the last forward solve and of the last backward pass through it (adjoint and
    /// checkpointed modes; 0 for direct, whose backward evaluates no f).
    ode::OdeintStats last_stats() const { return last_ ? last_->stats() : ode::OdeintStats{}; }
    std::size_t last_nfe() const { return last_stats().forward.nfe; }
    std::size_t last_backward_nfe() const { return last_stats().backward.nfe; }

    TimeLayer& dynamics() { return *dynamics_; }
    ODEBlockOptions options;

private:
    std::shared_ptr<TimeLayer> dynamics_;
    std::optional<ode::OdeintSolution> last_;
};

}  // namespace odenet::nn
