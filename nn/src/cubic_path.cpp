// Evaluating a CubicPath: find the grid interval of t, then Horner's rule on its coefficients.
// The coefficients come from interpolation.cpp.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>

#include "odenet/autodiff/ops.hpp"
#include "odenet/core/error.hpp"
#include "odenet/nn/interpolation.hpp"

namespace odenet::nn {

CubicPath::CubicPath(SplineKind kind, std::vector<double> times, Var a, Var b, Var c, Var d, std::vector<double> knots)
    : kind_(kind),
      times_(std::move(times)),
      a_(std::move(a)),
      b_(std::move(b)),
      c_(std::move(c)),
      d_(std::move(d)),
      knots_(std::move(knots)) {}

// The j with times[j] <= t < times[j+1], and the last interval for t == t1() (X is continuous,
// so either side gives the value; the derivative at a knot is the right one except at t1()).
std::size_t CubicPath::interval(double t, const char* where) const {
    if (!(t >= t0() && t <= t1())) {
        char msg[200];
        std::snprintf(msg, sizeof msg, "t = %.17g is %s the observation window [%.17g, %.17g]", t,
                      std::isfinite(t) ? "outside" : "not a finite time in", t0(), t1());
        throw ValueError(where, msg);
    }
    const auto after = std::upper_bound(times_.begin(), times_.end(), t);
    return std::min(static_cast<std::size_t>(after - times_.begin()) - 1, times_.size() - 2);
}

Var CubicPath::at(const Var& coeff, std::size_t j) const {
    return reshape(slice(coeff, 0, j, j + 1), {batch(), channels()});
}

namespace {

// A 0-d Var, else the error names the caller. Its value as a double: odeint hands its dynamics
// t in the state's dtype, so a float32 t is accepted and read exactly (it is already rounded).
double time_value(const Var& t, const char* where) {
    if (!t.defined() || t.dim() != 0) {
        throw ShapeError(where, "t must be a 0-d Var, got " +
                                    (t.defined() ? shape_str(t.shape()) : std::string("an undefined Var")));
    }
    return t.dtype() == Dtype::float32 ? static_cast<double>(t.value<float>()()) : t.value<double>()();
}

// τ = t - t_j, differentiable in t (dτ/dt = 1), taken in float64 before rounding to the data's
// dtype, so that a float32 path near a large t_j does not lose τ's digits to the subtraction.
Var offset(const Var& t, double tj, Dtype dtype) { return to_dtype(to_dtype(t, Dtype::float64) - tj, dtype); }

}  // namespace

// X = a + τ (b + τ (c + τ d)), τ = t - t_j.
Var CubicPath::evaluate(double t) const {
    const std::size_t j = interval(t, "CubicPath::evaluate");
    const double tau = t - times_[j];
    return at(a_, j) + (at(b_, j) + (at(c_, j) + at(d_, j) * tau) * tau) * tau;
}

Var CubicPath::evaluate(const Var& t) const {
    const char* where = "CubicPath::evaluate";
    const std::size_t j = interval(time_value(t, where), where);
    const Var tau = offset(t, times_[j], dtype());
    return at(a_, j) + (at(b_, j) + (at(c_, j) + at(d_, j) * tau) * tau) * tau;
}

// X' = b + τ (2c + 3τ d).
Var CubicPath::derivative(double t) const {
    const std::size_t j = interval(t, "CubicPath::derivative");
    const double tau = t - times_[j];
    return at(b_, j) + (at(c_, j) * 2.0 + at(d_, j) * (3.0 * tau)) * tau;
}

Var CubicPath::derivative(const Var& t) const {
    const char* where = "CubicPath::derivative";
    const std::size_t j = interval(time_value(t, where), where);
    const Var tau = offset(t, times_[j], dtype());
    return at(b_, j) + (at(c_, j) * 2.0 + at(d_, j) * tau * 3.0) * tau;
}

}  // namespace odenet::nn
