#pragma once
// Interpolation paths X(t) through observed data, the control a neural controlled differential
// equation reads (Kidger, Morrill, Foster and Lyons 2020, "Neural controlled differential
// equations for irregular time series", NeurIPS): dz = f(z) dX(t) = f(z) X'(t) dt.
//
// Two kinds of piecewise cubic, one class (CubicPath): they differ only in how the coefficients
// are computed, and a solver reads both the same way.
// - natural cubic spline: C², interpolates every observation, zero second derivative at a
//   channel's first and last observation. The second derivatives at interior knots solve a
//   symmetric, diagonally dominant tridiagonal system (Burden and Faires, "Numerical Analysis",
//   section 3.5, Algorithm 3.4), solved by the Thomas algorithm (tridiagonal.hpp). Not causal:
//   the path on one interval depends on every observation of the series.
// - cubic Hermite spline with backward differences (Morrill, Kidger, Yang and Lyons 2021, "Neural
//   controlled differential equations for online prediction tasks", section 3): C¹, interpolates
//   every observation with slope (y_k - y_{k-1}) / (τ_k - τ_{k-1}) at knot τ_k (the first
//   interval's own slope at the first knot, so that interval is linear). The path on
//   [τ_k, τ_{k+1}] depends on observations up to τ_{k+1} only, which is what online prediction
//   needs. Given slopes may replace the backward differences (then any cubic is reproduced).
//
// Data: times (T,) float64, strictly increasing, shared by the batch; data (batch, T, channels)
// float32 or float64, with NaN where a value is missing. Each channel of each series (b, c) is
// interpolated through its own observed points only. Rules, by design:
// - before a channel's first observation the path is constant at that value, after its last
//   one constant at that value (the derivative is 0 there, and jumps at the observation);
// - a channel observed once is constant; a channel never observed throws ValueError naming the
//   series and channel (a path made of zeros would silently feed made-up data to a model; fill
//   the channel yourself, e.g. with 0 or its mean, if that is what you want);
// - X and dX/dt are defined on [times[0], times[T-1]] only; t outside (or not finite) throws
//   ValueError naming t and the range. A solver over the observation window never leaves it;
// - the coefficients are computed once, at construction, from differentiable ops (plus the
//   tridiagonal solve, whose backward is one more solve), so gradients reach `data` (and
//   `slopes`) to every order. They do not reach `times`, which are constants.
//
// Internally each series' cubic on its own observed intervals is re-expanded about every grid
// time, so that one interval index serves the whole batch: X on [t_j, t_{j+1}] is
// a_j + b_j τ + c_j τ² + d_j τ³ with τ = t - t_j, each coefficient (batch, channels).
//
//   auto X = nn::natural_cubic_spline(times, data);     // once per batch
//   Var x0 = X.evaluate(X.t0());                          // (batch, channels), e.g. z0 = ζ(x0)
//   Var dx = X.derivative(t);                             // inside the CDE's vector field
//   X.knots();                                            // times where some derivative jumps
#include <cstddef>
#include <vector>

#include "odenet/autodiff/var.hpp"

namespace odenet::nn {

enum class SplineKind { natural, hermite };

class CubicPath {
public:
    /// Use natural_cubic_spline or hermite_cubic_spline; the coefficients are (T-1, batch,
    /// channels) each, a + b τ + c τ² + d τ³ on [times[j], times[j+1]].
    CubicPath(SplineKind kind, std::vector<double> times, Var a, Var b, Var c, Var d, std::vector<double> knots);

    /// X(t), shape (batch, channels), in the data's dtype. ValueError naming CubicPath::evaluate
    /// for t outside [t0(), t1()] or not finite.
    Var evaluate(double t) const;
    /// X(t) for a 0-d Var t, differentiable in t (dX/dt) as well as in the data. t may be float32
    /// or float64 (odeint passes its dynamics t in the state's dtype); the result is in the
    /// data's dtype either way. ShapeError naming CubicPath::evaluate for another shape.
    Var evaluate(const Var& t) const;
    /// dX/dt(t), shape (batch, channels). At a knot, the derivative of the interval that starts
    /// there (the right derivative), except at t1() (the left one). X' jumps at a channel's first
    /// and last observation (and X'' at every knot of the Hermite spline): give knots() to the
    /// solver as Options::jump_times (NeuralCDE does), and no step evaluates X' across a knot.
    Var derivative(double t) const;
    Var derivative(const Var& t) const;

    /// The times at which some channel of some series is observed, increasing: every time where
    /// a derivative of X may jump (X''' of the natural spline, X'' of the Hermite one, X' at a
    /// channel's first and last observation), for a solver to stop at. Includes t0() and t1()
    /// when observed there.
    const std::vector<double>& knots() const { return knots_; }
    const std::vector<double>& times() const { return times_; }
    double t0() const { return times_.front(); }
    double t1() const { return times_.back(); }
    SplineKind kind() const { return kind_; }
    std::size_t batch() const { return a_.shape()[1]; }
    std::size_t channels() const { return a_.shape()[2]; }
    Dtype dtype() const { return a_.dtype(); }
    /// The coefficients on the grid, (T-1, batch, channels) each (for tests and inspection).
    const Var& a() const { return a_; }
    const Var& b() const { return b_; }
    const Var& c() const { return c_; }
    const Var& d() const { return d_; }

private:
    std::size_t interval(double t, const char* where) const;
    Var at(const Var& coeff, std::size_t j) const;

    SplineKind kind_;
    std::vector<double> times_;
    Var a_, b_, c_, d_;
    std::vector<double> knots_;
};

/// The natural cubic spline through data (batch, T, channels) at times (T,) float64, each
/// channel through its own non-NaN entries. Throws (each message naming the function):
/// ShapeError for times not 1-D, T < 2, data not 3-D, data.shape()[1] != T, or a batch or
/// channel count of 0; DtypeError for times not float64; ValueError for times not finite or not
/// strictly increasing (index and values named), an infinite data entry, a channel with no
/// observation (series and channel).
CubicPath natural_cubic_spline(const Var& times, const Var& data);

/// The cubic Hermite spline with backward differences (causal; see the top of this file), same
/// inputs and errors as natural_cubic_spline.
CubicPath hermite_cubic_spline(const Var& times, const Var& data);

/// The cubic Hermite spline with the given slopes dX/dt at the observations: slopes has data's
/// shape and dtype (entries where data is NaN are not read). Differentiable in data and slopes.
/// Also ShapeError / DtypeError when slopes does not match data, ValueError when a slope at an
/// observation is not finite.
CubicPath hermite_cubic_spline(const Var& times, const Var& data, const Var& slopes);

}  // namespace odenet::nn
