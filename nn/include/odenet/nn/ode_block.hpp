#pragma once
// ODEBlock: a layer whose output is the solution at t1 of dh/dt = f(t, h) from h(t0) = x, as the
// Neural ODE paper's ODE-Net block (Chen et al., 2018). f is a TimeLayer (its parameters are
// this block's); the solve is nn::odeint's, with its options and defaults (odeint/odeint.hpp).
// With `augment` = p > 0 it is an Augmented Neural ODE block (Dupont, Doucet and Teh, 2019): the
// solve starts from [x, 0], x with p zero features (dense, (batch, d) -> (batch, d + p)) or zero
// channels (convolutional, (batch, C, H, W) -> (batch, C + p, H, W)) appended along axis 1, so f
// must take and return d + p features (C + p channels). The zeros are constants: gradients reach x
// and the parameters, in every gradient mode. The augmentation and its checks are nn/augment.hpp's,
// shared with nn::odeint(f, y0, ts, nn::Augment{p}).
#include <memory>
#include <optional>

#include "odenet/nn/module.hpp"
#include "odenet/odeint/odeint.hpp"

namespace odenet::nn {

struct ODEBlockOptions {
    double t0 = 0.0;
    double t1 = 1.0;
    /// p, the count of zero features or channels appended along axis 1 before the solve; 0 is
    /// the plain block. A count: `.augment = -1` does not compile (narrowing), and a negative
    /// value assigned later wraps to >= 2^63, which forward rejects with ValueError.
    std::size_t augment = 0;
    /// Remove the p appended features from the output, so that it has x's shape. Off by default:
    /// Dupont et al. keep them and let the next layer read all d + p.
    bool drop_augmented = false;
    /// Solver, tolerances and gradient mode: odeint's defaults unless set (the paper's ODE-Net
    /// uses dopri5 at rtol = atol = 1e-3, as examples/mnist sets).
    ode::OdeintOptions odeint{};
};

class ODEBlock : public Layer {
public:
    /// ValueError for a null dynamics module.
    explicit ODEBlock(std::shared_ptr<TimeLayer> dynamics, ODEBlockOptions options = {});

    /// h(t1) for h(t0) = x (augmented by p zeros); x's shape, or with d + p on axis 1 when
    /// augment > 0 and not drop_augmented. ShapeError naming ODEBlock, p and the state's shape if
    /// f returns another shape than the state or throws ShapeError on the augmented state.
    Var forward(const Var& x) override;
    /// The states at every time of ts (1-d, float64): shape (len(ts), *h.shape), h the state as
    /// forward returns it (augmented or not).
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
