// Interpolation paths (natural cubic and Hermite splines): exactness on polynomials they must
// reproduce, continuity at the knots, interpolation of values and slopes, causality of the
// backward-difference Hermite spline, dX/dt against central differences and against autodiff in
// t, gradients in the data (first and second order), missing values per channel, float32, and
// the error messages.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include "odenet/nn.hpp"
#include "odenet/testing/gradcheck.hpp"

using namespace odenet;
using namespace odenet::testing;
namespace nn = odenet::nn;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Irregular times on [0.2, 2.05].
const std::vector<double> kTimes{0.2, 0.35, 0.5, 0.9, 1.0, 1.4, 1.45, 2.05};

Var times_var(const std::vector<double>& t = kTimes) {
    Tensor<double> x = Tensor<double>::from_shape({t.size()});
    std::copy(t.begin(), t.end(), x.begin());
    return Var(x);
}

// data[b, j, c] = f(b, c, times[j]).
Var sample(std::size_t batch, std::size_t channels, const std::function<double(std::size_t, std::size_t, double)>& f,
           const std::vector<double>& t = kTimes) {
    Tensor<double> x = Tensor<double>::from_shape({batch, t.size(), channels});
    for (std::size_t b = 0; b < batch; ++b)
        for (std::size_t j = 0; j < t.size(); ++j)
            for (std::size_t c = 0; c < channels; ++c) x(b, j, c) = f(b, c, t[j]);
    return Var(x);
}

// A cubic per (b, c): p(t) = k0 + k1 t + k2 t² + k3 t³ with coefficients from (b, c).
double cubic(std::size_t b, std::size_t c, double t) {
    const double k0 = 0.3 + b, k1 = -1.1 + 0.5 * c, k2 = 0.7 - 0.2 * b, k3 = 0.4 + 0.3 * c - 0.1 * b;
    return k0 + t * (k1 + t * (k2 + t * k3));
}
double cubic_slope(std::size_t b, std::size_t c, double t) {
    const double k1 = -1.1 + 0.5 * c, k2 = 0.7 - 0.2 * b, k3 = 0.4 + 0.3 * c - 0.1 * b;
    return k1 + t * (2 * k2 + t * 3 * k3);
}
double linear(std::size_t b, std::size_t c, double t) { return 0.5 - 0.3 * b + (1.5 - c) * t; }

double max_abs_diff(const Var& x, const std::function<double(std::size_t, std::size_t)>& expected) {
    const Tensor<double> v = to_dtype(x, Dtype::float64).value<double>();
    double worst = 0;
    for (std::size_t b = 0; b < v.shape()[0]; ++b)
        for (std::size_t c = 0; c < v.shape()[1]; ++c) worst = std::max(worst, std::abs(v(b, c) - expected(b, c)));
    return worst;
}

// Points inside every interval and at every knot.
std::vector<double> probes(const std::vector<double>& t = kTimes) {
    std::vector<double> out;
    for (std::size_t j = 0; j + 1 < t.size(); ++j)
        for (double f : {0.0, 0.13, 0.5, 0.91}) out.push_back(t[j] + f * (t[j + 1] - t[j]));
    out.push_back(t.back());
    return out;
}

// Limits of X, X' and X'' at grid time t_j from the left (interval j - 1) and from the right
// (interval j), read off the coefficients.
struct Limits {
    double value, first, second;
};
Limits from_left(const nn::CubicPath& x, std::size_t j, std::size_t b, std::size_t c) {
    const double h = x.times()[j] - x.times()[j - 1];
    const double a = x.a().value<double>()(j - 1, b, c), bb = x.b().value<double>()(j - 1, b, c),
                 cc = x.c().value<double>()(j - 1, b, c), d = x.d().value<double>()(j - 1, b, c);
    return {a + h * (bb + h * (cc + h * d)), bb + h * (2 * cc + 3 * h * d), 2 * cc + 6 * h * d};
}
Limits from_right(const nn::CubicPath& x, std::size_t j, std::size_t b, std::size_t c) {
    return {x.a().value<double>()(j, b, c), x.b().value<double>()(j, b, c), 2 * x.c().value<double>()(j, b, c)};
}

// Smooth data with some entries missing: series 0 channel 1 misses the first two times and one
// in the middle, series 1 channel 0 misses the last one and is observed at only 5 times,
// series 1 channel 1 is observed at two times only.
Var data_with_gaps() {
    Var d = sample(2, 2, [](std::size_t b, std::size_t c, double t) { return std::sin(1.3 * t + b + 0.7 * c) + 0.2 * t; });
    auto& v = d.mutable_value<double>();
    v(0, 0, 1) = v(0, 1, 1) = v(0, 4, 1) = kNaN;
    v(1, 7, 0) = v(1, 2, 0) = v(1, 3, 0) = kNaN;
    for (std::size_t j : {0, 1, 3, 4, 5, 7}) v(1, j, 1) = kNaN;
    return d;
}

// X at a few probes and X' at a few more, stacked: what a gradcheck of the path looks at.
Var readout(const nn::CubicPath& x) {
    std::vector<Var> out;
    for (double t : {0.2, 0.41, 0.95, 1.42, 2.05}) out.push_back(x.evaluate(t));
    for (double t : {0.27, 0.9, 1.7}) out.push_back(x.derivative(t));
    return stack(out);
}

}  // namespace

TEST_CASE("natural_cubic_spline: linear data are reproduced exactly, X and dX/dt") {
    // The only cubics with zero second derivative at both ends are the linear functions (p'' is
    // linear and vanishes twice), so those are the cubics a natural spline must reproduce.
    const auto x = nn::natural_cubic_spline(times_var(), sample(3, 2, linear));
    CHECK(x.kind() == nn::SplineKind::natural);
    CHECK(x.batch() == 3);
    CHECK(x.channels() == 2);
    for (double t : probes()) {
        CAPTURE(t);
        // Errors are rounding only: the solve and the Taylor shifts of O(1) numbers.
        CHECK(max_abs_diff(x.evaluate(t), [t](std::size_t b, std::size_t c) { return linear(b, c, t); }) < 1e-13);
        CHECK(max_abs_diff(x.derivative(t), [](std::size_t, std::size_t c) { return 1.5 - c; }) < 1e-12);
    }
}

TEST_CASE("natural_cubic_spline: interpolates, C2 at interior knots, zero curvature at the ends") {
    // Interpolation, C² continuity and the natural end conditions determine the natural spline
    // uniquely (Burden and Faires, Theorem 3.11), so together they check it completely.
    const Var data = sample(2, 3, cubic);
    const auto x = nn::natural_cubic_spline(times_var(), data);
    const std::size_t n = kTimes.size();
    for (std::size_t b = 0; b < 2; ++b)
        for (std::size_t c = 0; c < 3; ++c) {
            CAPTURE(b);
            CAPTURE(c);
            for (std::size_t j = 0; j < n; ++j)
                CHECK(std::abs(x.evaluate(kTimes[j]).value<double>()(b, c) - data.value<double>()(b, j, c)) < 1e-13);
            for (std::size_t j = 1; j + 1 < n; ++j) {
                const Limits l = from_left(x, j, b, c), r = from_right(x, j, b, c);
                CAPTURE(j);
                // Rounding of O(1)..O(10) coefficients times powers of h <= 0.6.
                CHECK(std::abs(l.value - r.value) < 1e-12);
                CHECK(std::abs(l.first - r.first) < 1e-12);
                CHECK(std::abs(l.second - r.second) < 1e-12);
            }
            CHECK(std::abs(from_right(x, 0, b, c).second) < 1e-12);
            CHECK(std::abs(from_left(x, n - 1, b, c).second) < 1e-12);
        }
}

TEST_CASE("hermite_cubic_spline: exact slopes reproduce any cubic; slopes interpolated") {
    const auto x = nn::hermite_cubic_spline(times_var(), sample(2, 3, cubic), sample(2, 3, cubic_slope));
    CHECK(x.kind() == nn::SplineKind::hermite);
    for (double t : probes()) {
        CAPTURE(t);
        CHECK(max_abs_diff(x.evaluate(t), [t](std::size_t b, std::size_t c) { return cubic(b, c, t); }) < 1e-12);
        CHECK(max_abs_diff(x.derivative(t), [t](std::size_t b, std::size_t c) { return cubic_slope(b, c, t); }) < 1e-12);
    }
    // The given slopes at the knots, from both sides (C¹).
    for (std::size_t j = 1; j + 1 < kTimes.size(); ++j)
        for (std::size_t b = 0; b < 2; ++b)
            for (std::size_t c = 0; c < 3; ++c) {
                CHECK(std::abs(from_left(x, j, b, c).first - cubic_slope(b, c, kTimes[j])) < 1e-12);
                CHECK(std::abs(from_right(x, j, b, c).first - cubic_slope(b, c, kTimes[j])) < 1e-12);
            }
}

TEST_CASE("hermite_cubic_spline: backward differences, C1, causal, linear data exact") {
    const Var data = sample(2, 2, cubic);
    const auto x = nn::hermite_cubic_spline(times_var(), data);
    const auto& y = data.value<double>();
    for (std::size_t j = 0; j < kTimes.size(); ++j)
        for (std::size_t b = 0; b < 2; ++b)
            for (std::size_t c = 0; c < 2; ++c) {
                CAPTURE(j);
                CHECK(std::abs(x.evaluate(kTimes[j]).value<double>()(b, c) - y(b, j, c)) < 1e-13);
                // Slope at t_j: (y_j - y_{j-1}) / (t_j - t_{j-1}); at t_0 the first interval's own.
                const std::size_t k = j == 0 ? 1 : j;
                const double backward = (y(b, k, c) - y(b, k - 1, c)) / (kTimes[k] - kTimes[k - 1]);
                if (j + 1 < kTimes.size()) CHECK(std::abs(from_right(x, j, b, c).first - backward) < 1e-11);
                if (j > 0) CHECK(std::abs(from_left(x, j, b, c).first - backward) < 1e-11);
            }
    // Causal: changing the data after t_4 leaves the path on [t_0, t_4] as it was.
    Var later(data.value<double>());
    later.mutable_value<double>()(0, 5, 0) += 1.0;
    later.mutable_value<double>()(1, 7, 1) -= 2.0;
    const auto x2 = nn::hermite_cubic_spline(times_var(), later);
    for (double t : probes())
        if (t <= kTimes[4]) CHECK(max_abs_diff(x2.evaluate(t), [&](std::size_t b, std::size_t c) {
                                      return x.evaluate(t).value<double>()(b, c);
                                  }) == 0.0);
    CHECK(max_abs_diff(x2.evaluate(1.2), [&](std::size_t b, std::size_t c) { return x.evaluate(1.2).value<double>()(b, c); }) > 0.01);
    // Linear data: every backward difference is the slope, so the path is the line.
    const auto line = nn::hermite_cubic_spline(times_var(), sample(2, 2, linear));
    for (double t : probes())
        CHECK(max_abs_diff(line.evaluate(t), [t](std::size_t b, std::size_t c) { return linear(b, c, t); }) < 1e-13);
}

TEST_CASE("CubicPath::derivative against central differences and against autodiff in t") {
    const Var data = data_with_gaps();
    for (const auto& x : {nn::natural_cubic_spline(times_var(), data), nn::hermite_cubic_spline(times_var(), data)}) {
        for (double t : {0.27, 0.61, 1.2, 1.43, 1.9}) {  // away from knots: X is a cubic within ±h
            CAPTURE(t);
            const double h = 2e-6;
            const Tensor<double> fd = (x.evaluate(t + h).value<double>() - x.evaluate(t - h).value<double>()) / (2 * h);
            // Truncation h²/6·|X'''| = h²|d|: |d| ~ 150 on the 0.05-long interval at 1.43 (1.5e-8
            // was seen there at h = 1e-5), so 6e-10 at h = 2e-6; rounding u·|X|/h ~ 5e-11. 1e-8 is
            // 15x that and still catches a derivative wrong in its 8th digit.
            CHECK(max_abs_diff(x.derivative(t), [&](std::size_t b, std::size_t c) { return fd(b, c); }) < 1e-8);
            // evaluate(Var t) differentiated by the engine gives derivative(t), and derivative(Var)
            // matches derivative(double).
            const Var tv(Tensor<double>(t), true);
            const Var v = x.evaluate(tv);
            const Var dv = grad(sum(v), tv);
            CHECK(std::abs(dv.value<double>()() - sum(x.derivative(t)).value<double>()()) < 1e-12);
            CHECK(max_abs_diff(v, [&](std::size_t b, std::size_t c) { return x.evaluate(t).value<double>()(b, c); }) == 0.0);
            CHECK(max_abs_diff(x.derivative(tv), [&](std::size_t b, std::size_t c) {
                      return x.derivative(t).value<double>()(b, c);
                  }) < 1e-15);
        }
    }
}

TEST_CASE("interpolation paths: gradients in the data (and slopes), first and second order, with missing values") {
    const Var t = times_var();
    const Var data = data_with_gaps();
    const Var slopes = sample(2, 2, [](std::size_t b, std::size_t c, double s) { return std::cos(s + b - c); });
    auto natural = [t](const std::vector<Var>& in) { return readout(nn::natural_cubic_spline(t, in[0])); };
    auto hermite = [t](const std::vector<Var>& in) { return readout(nn::hermite_cubic_spline(t, in[0])); };
    auto given = [t](const std::vector<Var>& in) { return readout(nn::hermite_cubic_spline(t, in[0], in[1])); };
    CHECK(gradcheck(natural, {data}));
    CHECK(gradgradcheck(natural, {data}));
    CHECK(gradcheck(hermite, {data}));
    CHECK(gradgradcheck(hermite, {data}));
    CHECK(gradcheck(given, {data, slopes}));
    CHECK(gradgradcheck(given, {data, slopes}));
    // A nonlinear function of the path, so second derivatives are not all zero; and t as a Var.
    auto through_t = [t](const std::vector<Var>& in) {
        const auto x = nn::natural_cubic_spline(t, in[0]);
        const Var tv = in[1];
        return square(x.evaluate(tv)) + x.derivative(tv) * x.evaluate(tv);
    };
    const Var tv(Tensor<double>(0.77));
    CHECK(gradcheck(through_t, {data, tv}));
    CHECK(gradgradcheck(through_t, {data, tv}));
    // Missing entries receive exactly zero gradient.
    const Var leaf(data.value<double>(), true);
    backward(sum(readout(nn::natural_cubic_spline(t, leaf))));
    CHECK(leaf.grad().value<double>()(0, 0, 1) == 0.0);
    CHECK(leaf.grad().value<double>()(1, 7, 0) == 0.0);
    CHECK(std::isfinite(leaf.grad().value<double>()(0, 2, 1)));
}

TEST_CASE("interpolation paths: each channel through its own observations; constant outside them") {
    const Var data = data_with_gaps();
    const auto& v = data.value<double>();
    for (const bool natural : {true, false}) {
        CAPTURE(natural);
        auto make = [natural](const Var& t, const Var& d) {
            return natural ? nn::natural_cubic_spline(t, d) : nn::hermite_cubic_spline(t, d);
        };
        const auto x = make(times_var(), data);
        for (std::size_t b = 0; b < 2; ++b)
            for (std::size_t c = 0; c < 2; ++c) {
                CAPTURE(b);
                CAPTURE(c);
                // The channel alone, on its own observed times only.
                std::vector<double> own_t, own_y;
                for (std::size_t j = 0; j < kTimes.size(); ++j)
                    if (!std::isnan(v(b, j, c))) {
                        own_t.push_back(kTimes[j]);
                        own_y.push_back(v(b, j, c));
                    }
                Tensor<double> y = Tensor<double>::from_shape({1, own_y.size(), 1});
                std::copy(own_y.begin(), own_y.end(), y.begin());
                const auto alone = make(times_var(own_t), Var(y));
                for (double t : probes()) {
                    CAPTURE(t);
                    const double got = x.evaluate(t).value<double>()(b, c);
                    const double slope = x.derivative(t).value<double>()(b, c);
                    if (t < own_t.front()) {
                        CHECK(got == own_y.front());
                        CHECK(slope == 0.0);
                    } else if (t > own_t.back()) {
                        CHECK(got == own_y.back());
                        CHECK(slope == 0.0);
                    } else {
                        // Same cubic, re-expanded about another point: rounding only.
                        CHECK(std::abs(got - alone.evaluate(t).value<double>()(0, 0)) < 1e-13);
                        if (t < own_t.back())
                            CHECK(std::abs(slope - alone.derivative(t).value<double>()(0, 0)) < 1e-12);
                    }
                }
            }
        // Knots: every time at which something is observed (all of them here).
        CHECK(x.knots() == kTimes);
    }
    // A channel observed once is constant; knots skip times nobody observed.
    Var once = sample(1, 2, linear);
    for (std::size_t j = 0; j < kTimes.size(); ++j)
        if (j != 3) once.mutable_value<double>()(0, j, 0) = kNaN;
    once.mutable_value<double>()(0, 1, 1) = kNaN;
    const auto x = nn::natural_cubic_spline(times_var(), once);
    CHECK(x.evaluate(1.7).value<double>()(0, 0) == linear(0, 0, kTimes[3]));
    CHECK(x.derivative(0.3).value<double>()(0, 0) == 0.0);
    std::vector<double> expected = kTimes;
    expected.erase(expected.begin() + 1);
    CHECK(x.knots() == expected);
}

TEST_CASE("interpolation paths drive odeint: dz = dX from z0 = X(t0) gives z(t) = X(t), values and gradients") {
    // The simplest controlled differential equation, f(z) = identity: z(t) = X(t) exactly, so
    // the solve checks that derivative(Var t) works as a vector field and that gradients with
    // respect to the data pass through a solve (direct mode records every stage).
    const Var t = times_var();
    const Var data(data_with_gaps().value<double>(), true);
    const Var ts(Tensor<double>{0.2, 0.95, 1.43, 2.05});
    const ode::OdeintOptions options{.solver = {.method = ode::Method::dopri5, .rtol = 1e-10, .atol = 1e-12},
                                     .grad = ode::Grad::direct};
    for (const bool natural : {true, false}) {
        CAPTURE(natural);
        const auto x = natural ? nn::natural_cubic_spline(t, data) : nn::hermite_cubic_spline(t, data);
        const ode::Dynamics f = [&x](const Var& s, const Var& /*z*/) { return x.derivative(s); };
        const Var zs = ode::odeint(f, x.evaluate(x.t0()), ts, {}, options).ys;
        for (std::size_t i = 0; i < 4; ++i) {
            const double ti = ts.value<double>()(i);
            const Tensor<double> expected = x.evaluate(ti).value<double>();
            // rtol 1e-10 on O(1) states over a few dozen steps, with kinks in X'' (Hermite: in X').
            CHECK(max_abs_diff(reshape(slice(zs, 0, i, i + 1), {2, 2}),
                               [&](std::size_t b, std::size_t c) { return expected(b, c); }) < 1e-8);
        }
        // Gradients: the discrete solve's gradient in y_k is a quadrature of ∂X'/∂y_k, a cardinal
        // spline with kinks at the knots that the step control (which sees only the sum over k)
        // does not resolve: over all of [t0, t1] it was 1e-6 off, with the knots as output times
        // too (output times do not stop the steps). One solve per knot interval, where X' is a
        // quadratic that dopri5 (order 5) integrates exactly, leaves only rounding: that is
        // what knots() are for, until the solver can stop at given times itself. Each segment
        // ends one float before its knot, as diffrax's prevbefore does at a jump: derivative()
        // at a knot is the right derivative, and dopri5 has stages at the step's end (c = 1),
        // where X' jumps at a channel's first and last observation. (Ending at the knot itself,
        // z was 1e-9 off.) The skipped ulp costs |X'|·1e-16.
        Var z = x.evaluate(x.t0());
        const auto& knots = x.knots();
        for (std::size_t k = 0; k + 1 < knots.size(); ++k) {
            const Var segment(Tensor<double>{knots[k], std::nextafter(knots[k + 1], knots[k])});
            z = reshape(slice(ode::odeint(f, z, segment, {}, options).ys, 0, 1, 2), {2, 2});
        }
        CHECK(max_abs_diff(z, [&](std::size_t b, std::size_t c) { return x.evaluate(x.t1()).value<double>()(b, c); }) <
              1e-12);
        const Var w(randn<double>({2, 2}));
        // retain_graph: the path's coefficients are shared by both graphs.
        const Tensor<double> through_solve = grad(sum(z * w), data, Var(), {.retain_graph = true}).value<double>();
        const Tensor<double> direct = grad(sum(x.evaluate(x.t1()) * w), data).value<double>();
        // Rounding over ~7 segments of a few steps each, on O(1) weights.
        CHECK(xt::amax(xt::abs(through_solve - direct))() < 1e-9);
    }
}

TEST_CASE("interpolation paths: float32 data give float32 paths close to float64") {
    const Var data = data_with_gaps();
    const Var data32 = to_dtype(data, Dtype::float32);
    for (const bool natural : {true, false}) {
        const auto x = natural ? nn::natural_cubic_spline(times_var(), data) : nn::hermite_cubic_spline(times_var(), data);
        const auto x32 =
            natural ? nn::natural_cubic_spline(times_var(), data32) : nn::hermite_cubic_spline(times_var(), data32);
        CHECK(x32.dtype() == Dtype::float32);
        for (double t : probes()) {
            CAPTURE(t);
            const Var v = x32.evaluate(t), dv = x32.derivative(Var(Tensor<double>(t)));
            CHECK(v.dtype() == Dtype::float32);
            CHECK(dv.dtype() == Dtype::float32);
            // t as a float32 Var, as odeint hands it to float32 dynamics, against the same (rounded)
            // time as a double: the two differ only in where τ is rounded (a few float32 ulps).
            const float t32 = static_cast<float>(std::min(t, x32.t1()));
            if (t32 >= x32.t0() && t32 <= x32.t1()) {
                const Tensor<float> by_double = x32.derivative(static_cast<double>(t32)).value<float>();
                CHECK(max_abs_diff(x32.derivative(Var(Tensor<float>(t32))),
                                   [&](std::size_t b, std::size_t c) { return by_double(b, c); }) < 1e-5);
            }
            // float32 rounding (6e-8) amplified by the divided differences over h >= 0.05 and the
            // Taylor shifts: 1e-5 absolute on O(1) values, 1e-4 on slopes up to ~10.
            CHECK(max_abs_diff(v, [&](std::size_t b, std::size_t c) { return x.evaluate(t).value<double>()(b, c); }) < 1e-5);
            CHECK(max_abs_diff(dv, [&](std::size_t b, std::size_t c) { return x.derivative(t).value<double>()(b, c); }) < 1e-4);
        }
    }
}

TEST_CASE("interpolation paths: errors name the function and what was wrong") {
    const Var data = sample(2, 2, linear);
    CHECK_THROWS_WITH_AS(nn::natural_cubic_spline(times_var({0.0, 0.5, 0.5, 1.0, 1.2, 1.3, 1.4, 1.5}), data),
                         doctest::Contains("natural_cubic_spline: times must be strictly increasing, but times[1] = "
                                           "0.5 and times[2] = 0.5"),
                         ValueError);
    CHECK_THROWS_WITH_AS(nn::hermite_cubic_spline(times_var({0.0, 0.5, kNaN, 1.0, 1.2, 1.3, 1.4, 1.5}), data),
                         doctest::Contains("hermite_cubic_spline: times[2] is nan"), ValueError);
    CHECK_THROWS_WITH_AS(nn::natural_cubic_spline(to_dtype(times_var(), Dtype::float32), data),
                         doctest::Contains("times must be float64"), DtypeError);
    CHECK_THROWS_WITH_AS(nn::natural_cubic_spline(times_var({0.0}), sample(1, 1, linear, {0.0})),
                         doctest::Contains("times must be 1-D with at least 2 entries, got (1)"), ShapeError);
    CHECK_THROWS_WITH_AS(nn::natural_cubic_spline(times_var(), reshape(data, {2, 16})),
                         doctest::Contains("data must be (batch, T = 8 times, channels), got (2, 16)"), ShapeError);
    CHECK_THROWS_WITH_AS(nn::natural_cubic_spline(times_var({0.0, 1.0}), data),
                         doctest::Contains("data must be (batch, T = 2 times, channels), got (2, 8, 2)"), ShapeError);
    CHECK_THROWS_WITH_AS(nn::hermite_cubic_spline(times_var(), sample(0, 2, linear)),
                         doctest::Contains("data (0, 8, 2) has no series (batch or channels is 0)"), ShapeError);
    CHECK_THROWS_WITH_AS(nn::natural_cubic_spline(times_var(), sample(2, 0, linear)),
                         doctest::Contains("data (2, 8, 0) has no series"), ShapeError);
    Var gap = sample(2, 2, linear);
    for (std::size_t j = 0; j < kTimes.size(); ++j) gap.mutable_value<double>()(1, j, 0) = kNaN;
    CHECK_THROWS_WITH_AS(nn::natural_cubic_spline(times_var(), gap),
                         doctest::Contains("channel 0 of series 1 has no observation (data[1, :, 0] is all NaN)"),
                         ValueError);
    Var inf = sample(2, 2, linear);
    inf.mutable_value<double>()(0, 3, 1) = HUGE_VAL;
    CHECK_THROWS_WITH_AS(nn::hermite_cubic_spline(times_var(), inf), doctest::Contains("data[0, 3, 1] is inf"), ValueError);
    CHECK_THROWS_WITH_AS(nn::hermite_cubic_spline(times_var(), data, sample(2, 1, linear)),
                         doctest::Contains("slopes must have data's shape (2, 8, 2), got (2, 8, 1)"), ShapeError);
    CHECK_THROWS_WITH_AS(nn::hermite_cubic_spline(times_var(), data, to_dtype(data, Dtype::float32)),
                         doctest::Contains("slopes and data must have the same dtype"), DtypeError);
    Var bad_slopes = sample(2, 2, linear);
    bad_slopes.mutable_value<double>()(1, 2, 0) = kNaN;
    CHECK_THROWS_WITH_AS(nn::hermite_cubic_spline(times_var(), data, bad_slopes),
                         doctest::Contains("slopes[1, 2, 0] is nan at an observation"), ValueError);

    const auto x = nn::natural_cubic_spline(times_var(), data);
    CHECK_THROWS_WITH_AS(x.evaluate(2.1), doctest::Contains("CubicPath::evaluate: t = 2.1000000000000001 is outside "
                                                            "the observation window [0.20000000000000001, 2.0499999999999998]"),
                         ValueError);
    CHECK_THROWS_WITH_AS(x.derivative(0.1), doctest::Contains("CubicPath::derivative: t = 0.10000000000000001 is outside"),
                         ValueError);
    CHECK_THROWS_WITH_AS(x.evaluate(kNaN), doctest::Contains("t = nan is not a finite time in"), ValueError);
    CHECK_THROWS_WITH_AS(x.evaluate(Var(Tensor<double>{0.5})), doctest::Contains("t must be a 0-d Var, got (1)"), ShapeError);
    CHECK_THROWS_WITH_AS(x.derivative(Var()), doctest::Contains("CubicPath::derivative: t must be a 0-d Var, got an undefined Var"),
                         ShapeError);
}
