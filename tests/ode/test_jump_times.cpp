// Options::jump_times (Note [Steps at jump times]): no evaluation of f sees the wrong side of a
// jump, so a right-hand side that is piecewise smooth is solved as accurately as a smooth one.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <vector>

#include "odenet/core/error.hpp"
#include "odenet/core/tensor.hpp"
#include "odenet/ode/solve.hpp"

using namespace odenet;
using namespace odenet::ode;

namespace {

using State1 = std::array<double, 1>;

// dy/dt = +1 before tj and -1 after, read in double: every Runge-Kutta step inside one piece is
// exact, so the only error a solve can make is a step (or a stage) on the wrong side of tj.
struct Kink {
    double tj;
    int wrong_side = 0;  // evaluations at exactly tj (neither side is right for a stage there)
    State1 operator()(double t, const State1&) {
        if (t == tj) ++wrong_side;
        return {t < tj ? 1.0 : -1.0};
    }
};

// y(t) for y(t0) = 0 under Kink, forward or backward.
double kink_exact(double t0, double t, double tj) {
    auto y_at = [tj](double s) { return s < tj ? s : 2 * tj - s; };  // from y(0) = 0
    return y_at(t) - y_at(t0);
}

}  // namespace

TEST_CASE("jump_times: a piecewise-constant f is solved exactly, and without them it is not") {
    const double tj = 1.0 / 3.0;
    for (Method m : {Method::dopri5, Method::tsit5, Method::bosh3, Method::dop853}) {
        CAPTURE(method_name(m));
        Kink with{tj};
        const auto sol = solve(with, State1{0.0}, {0.0, 1.0}, {.method = m, .rtol = 1e-6, .atol = 1e-9, .jump_times = {tj}});
        CHECK(std::abs(sol.ys[1][0] - kink_exact(0, 1, tj)) < 1e-14);
        CHECK(with.wrong_side == 0);
        CHECK(sol.stats.rejected == 0);

        // The same solve blind to the jump: rejected steps around it and an error at tolerance
        // level. The gap between the two is what the option is for (and shows the check above
        // would fail if the jump were straddled).
        Kink blind{tj};
        const auto b = solve(blind, State1{0.0}, {0.0, 1.0}, {.method = m, .rtol = 1e-6, .atol = 1e-9});
        CHECK(b.stats.rejected > 0);
        CHECK(std::abs(b.ys[1][0] - kink_exact(0, 1, tj)) > 1e-13);
    }
}

TEST_CASE("jump_times: backward solves, several jumps in any order, outputs at and around them") {
    // dy/dt = sign pattern +1 on (., a), -1 on (a, b), +1 after b.
    const double a = 0.3, b = 0.7;
    int at_jump = 0;
    auto f = [&](double t, const State1&) -> State1 {
        if (t == a || t == b) ++at_jump;
        return {t < a ? 1.0 : t < b ? -1.0 : 1.0};
    };
    auto exact = [&](double t) { return t < a ? t : t < b ? 2 * a - t : 2 * a - 2 * b + t; };  // y(0) = 0
    // Backward from t = 1, outputs at both jumps and between, jumps given unsorted and repeated
    // and with one outside the span (ignored).
    const std::vector<double> ts{1.0, b, 0.5, a, 0.0};
    const auto sol = solve(f, State1{exact(1.0)}, ts, {.rtol = 1e-6, .atol = 1e-9, .jump_times = {b, 5.0, a, b}});
    for (std::size_t i = 0; i < ts.size(); ++i) {
        CAPTURE(ts[i]);
        CHECK(std::abs(sol.ys[i][0] - exact(ts[i])) < 1e-14);
    }
    CHECK(at_jump == 0);
    CHECK(sol.stats.rejected == 0);
}

TEST_CASE("jump_times: float32 state, f reading t in float32, never sees the wrong side") {
    // tj = 0.1 is not a float: float(0.1) > 0.1. A step ending one double ulp before 0.1 would
    // have its last stages read t = float(0.1), the wrong side; the float32 gap keeps them off.
    const double tj = 0.1;
    int wrong = 0;
    auto f = [&](double t, const Tensor<float>& y) {
        const float tf = static_cast<float>(t);
        const bool before_side = t < tj;  // the side the solver meant
        if ((static_cast<double>(tf) < tj) != before_side) ++wrong;
        return Tensor<float>(y.shape(), before_side ? 1.0f : -1.0f);
    };
    Tensor<float> y0(Tensor<float>::shape_type{2}, 0.0f);
    const auto sol = solve(f, y0, {0.0, 0.25}, {.rtol = 1e-5, .atol = 1e-6, .jump_times = {tj}});
    CHECK(wrong == 0);
    CHECK(std::abs(sol.ys[1](0) - static_cast<float>(kink_exact(0, 0.25, tj))) < 1e-6);
}

TEST_CASE("jump_times: smooth-but-kinked f converges at the method's rate instead of stalling") {
    // dy/dt = |t - tj| y: continuous f with a kink. Exact y(1) = exp(∫|t - tj|).
    const double tj = 0.4;
    auto f = [&](double t, const State1& y) -> State1 { return {std::abs(t - tj) * y[0]}; };
    const double exact = std::exp((tj * tj + (1 - tj) * (1 - tj)) / 2);
    const auto with = solve(f, State1{1.0}, {0.0, 1.0}, {.rtol = 1e-10, .atol = 1e-12, .jump_times = {tj}});
    const auto blind = solve(f, State1{1.0}, {0.0, 1.0}, {.rtol = 1e-10, .atol = 1e-12});
    CHECK(std::abs(with.ys[1][0] - exact) < 1e-10 * exact);
    CHECK(with.stats.rejected < blind.stats.rejected);
}

TEST_CASE("jump_times: recorded as a step with save_steps, ignored by fixed steps") {
    const double tj = 0.5;
    Kink k{tj};
    const auto sol = solve(k, State1{0.0}, {0.0, 1.0}, {.save_steps = true, .jump_times = {tj}});
    // The step ending just before tj and the hop to just after it are both saved steps.
    int before = 0, after = 0;
    for (double t : sol.step_ts) {
        if (t < tj && tj - t < 1e-14) ++before;
        if (t > tj && t - tj < 1e-14) ++after;
    }
    CHECK(before == 1);
    CHECK(after == 1);
    // Fixed steps: the grid is the grid.
    Kink fixed{tj};
    const auto fs = solve(fixed, State1{0.0}, {0.0, 1.0}, {.method = Method::rk4, .step_size = 0.25, .jump_times = {0.3}});
    CHECK(fs.stats.accepted == 4);
}

TEST_CASE("jump_times: a non-finite jump time is refused by name") {
    Kink k{0.5};
    CHECK_THROWS_WITH_AS(solve(k, State1{0.0}, {0.0, 1.0}, {.jump_times = {0.2, NAN}}),
                         doctest::Contains("jump_times[1] must be finite"), ValueError);
}

TEST_CASE("jump_times: jumps closer than a step are one cluster, and time never moves back") {
    // A smooth f: the jumps must cost nothing. Clusters one ulp wide, 1e-15 wide, and a jump next
    // to t0; forward and backward. (Hopping them one by one used to restart behind the second
    // jump's cut and step backwards in time: y(3) off by 0.09.)
    auto f = [](double t, const State1&) -> State1 { return {std::cos(t)}; };
    const std::vector<std::vector<double>> clusters{
        {1.0, std::nextafter(1.0, 2.0)}, {1.0, 1.0 + 1e-15}, {1e-16, 1.3}, {1.3, 1.3 + 1e-15, 1.3 + 3e-15, 2.0}};
    for (const auto& jumps : clusters) {
        CAPTURE(jumps[0]);
        CAPTURE(jumps[1]);
        for (double dir : {1.0, -1.0}) {
            const double t0 = dir > 0 ? 0.0 : 3.0, t1 = 3.0 - t0;
            const auto sol = solve(f, State1{std::sin(t0)}, {t0, t1},
                                   {.rtol = 1e-9, .atol = 1e-11, .save_steps = true, .jump_times = jumps});
            CHECK(std::abs(sol.ys[1][0] - std::sin(t1)) < 1e-8);
            double prev = t0;
            for (double t : sol.step_ts) {
                CHECK(dir * (t - prev) > 0.0);
                prev = t;
            }
        }
    }
    // float32: the gap is in float32 ulps (about 5e-7 at t = 1), so jumps 3e-7 apart are one cluster.
    auto g = [](double t, const Tensor<float>& y) { return Tensor<float>(y.shape(), static_cast<float>(std::cos(t))); };
    Tensor<float> y0(Tensor<float>::shape_type{1}, 0.0f);
    const auto sol = solve(g, y0, {0.0, 3.0}, {.rtol = 1e-6, .atol = 1e-7, .jump_times = {1.0, 1.0 + 3e-7}});
    CHECK(std::abs(sol.ys[1](0) - std::sin(3.0)) < 1e-5);
}
