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
        std::snprintf(msg, sizeof msg, "t = %.17g is outside the observation window [%.17g, %.17g]", t, t0(), t1());
        throw ValueError(where, msg);
    }
    const auto after = std::upper_bound(times_.begin(), times_.end(), t);
    return std::min(static_cast<std::size_t>(after - times_.begin()) - 1, times_.size() - 2);
}

Var CubicPath::at(const Var& coeff, std::size_t j) const {
    return reshape(slice(coeff, 0, j, j + 1), {batch(), channels()});
}

namespace {

// A 0-d float64 Var, else the error names the caller.
void check_time_var(const Var& t, const char* where) {
    if (!t.defined() || t.dim() != 0) {
        throw ShapeError(where, "t must be a 0-d Var, got " +
                                    (t.defined() ? shape_str(t.shape()) : std::string("an undefined Var")));
    }
    if (t.dtype() != Dtype::float64) throw DtypeError(where, "t must be float64 (time is float64 everywhere)");
}

}  // namespace

// X = a + τ (b + τ (c + τ d)), τ = t - t_j.
Var CubicPath::evaluate(double t) const {
    const std::size_t j = interval(t, "CubicPath::evaluate");
    const double tau = t - times_[j];
    return at(a_, j) + (at(b_, j) + (at(c_, j) + at(d_, j) * tau) * tau) * tau;
}

Var CubicPath::evaluate(const Var& t) const {
    const char* where = "CubicPath::evaluate";
    check_time_var(t, where);
    const std::size_t j = interval(t.value<double>()(), where);
    const Var tau = to_dtype(t - times_[j], dtype());  // differentiable in t: dτ/dt = 1
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
    check_time_var(t, where);
    const std::size_t j = interval(t.value<double>()(), where);
    const Var tau = to_dtype(t - times_[j], dtype());
    return at(b_, j) + (at(c_, j) * 2.0 + at(d_, j) * tau * 3.0) * tau;
}

}  // namespace odenet::nn
