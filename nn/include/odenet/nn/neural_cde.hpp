#pragma once
// Neural controlled differential equation (Kidger, Morrill, Foster and Lyons 2020, "Neural
// controlled differential equations for irregular time series", NeurIPS): the data drive the
// hidden state as a control,
//   z(t0) = ζ(X(t0)),   dz = f_θ(z) dX(t),  i.e.  dz/dt = f_θ(z) · X'(t),
// with X a continuous path through the observations (nn/interpolation.hpp: time should be one of
// its channels, so that the model sees when things happen; Kidger et al., section 3.2). f_θ maps
// z (batch, hidden) to a (hidden x channels) matrix per sample, returned flat as
// (batch, hidden·channels) and read row-major; ζ is a Linear channels -> hidden. A CDE is an
// RNN's continuous-time limit: each new observation moves z through X' without a jump.
//
// The solve is odeint's (any method, any gradient mode; the adjoint is the default, as the
// paper's). With stop_at_knots the path's knots become the solver's jump times
// (Options::jump_times): X' has its pieces there, and an adaptive step that straddled one would
// have to shrink onto it by rejections. Gradients reach θ, ζ, and the data when the path was
// built from data that require grad (its coefficients are then passed to odeint as parameters,
// so the adjoint carries them too).
//
//   auto X = nn::hermite_cubic_spline(times, data);          // data (batch, T, channels)
//   nn::NeuralCDE cde(field, channels, hidden);                // field: Layer, hidden -> hidden·channels
//   Var z1 = cde(X);                                           // z(t1): (batch, hidden)
//   Var logits = readout->forward(z1);
#include <cstddef>
#include <memory>
#include <optional>

#include "odenet/nn/interpolation.hpp"
#include "odenet/nn/linear.hpp"
#include "odenet/nn/module.hpp"
#include "odenet/odeint/odeint.hpp"

namespace odenet::nn {

struct NeuralCDEOptions {
    /// Solver, tolerances and gradient mode (odeint's defaults: dopri5, rtol 1e-7, atol 1e-9,
    /// adjoint). Its solver.jump_times are kept and the knots added to them.
    ode::OdeintOptions odeint{};
    bool stop_at_knots = true;  ///< the path's knots as jump times (see the top of this file)
    Dtype dtype = Dtype::float64;  ///< of ζ; the field's own dtype is the user's
};

class NeuralCDE : public Module {
public:
    /// `field` maps (batch, hidden) to (batch, hidden·channels). ValueError for a null field or
    /// a zero channels or hidden.
    NeuralCDE(std::shared_ptr<Layer> field, std::size_t channels, std::size_t hidden, NeuralCDEOptions options = {});

    /// z(X.t1()) from z(X.t0()) = ζ(X(X.t0())): (batch, hidden).
    Var forward(const CubicPath& X);
    Var operator()(const CubicPath& X) { return forward(X); }
    /// z at every time of ts (1-D float64, strictly increasing, inside [X.t0(), X.t1()]), from
    /// z(ts[0]) = ζ(X(ts[0])): (len(ts), batch, hidden), with the solve's statistics.
    /// Throws ShapeError naming NeuralCDE for a path with another number of channels than the
    /// layer's or a field whose output is not (batch, hidden·channels) (both shapes named);
    /// DtypeError for a path whose dtype differs from ζ's; ValueError for ts outside the path or
    /// not strictly increasing.
    ode::OdeintSolution trajectory(const CubicPath& X, const Var& ts);
    /// dz/dt = f(z) X'(t) at one t: (batch, hidden). What the solver integrates.
    Var vector_field(const CubicPath& X, const Var& t, const Var& z);

    std::size_t channels() const { return channels_; }
    std::size_t hidden() const { return hidden_; }
    /// Cost of the last solve and of the last backward pass through it (adjoint and
    /// checkpointed modes; zeros before one ran), as ODEBlock reports it.
    ode::OdeintStats last_stats() const { return last_ ? last_->stats() : ode::OdeintStats{}; }

    NeuralCDEOptions options;
    std::shared_ptr<Layer> field;     ///< f_θ
    std::shared_ptr<Linear> initial;  ///< ζ

private:
    void check_path(const CubicPath& X) const;

    std::size_t channels_, hidden_;
    std::optional<ode::OdeintSolution> last_;
};

}  // namespace odenet::nn
