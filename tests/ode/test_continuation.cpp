// What a solve hands to the next one: the state after every accepted step (Options::save_steps,
// which checkpointing restarts from) and the step the controller planned next
// (Solution::next_step, which a continuing solve starts with instead of a starting-step search).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "odenet/ode/solve.hpp"

using namespace odenet::ode;

namespace {

std::vector<double> decay(double, const std::vector<double>& y) { return {-y[0], -2.0 * y[1]}; }

}  // namespace

TEST_CASE("save_steps keeps every accepted step's end and state, and nothing without it") {
    const std::vector<double> y0{1.0, 1.0};
    const Options o{.rtol = 1e-8, .atol = 1e-10, .save_steps = true};
    const Solution<std::vector<double>> sol = solve(decay, y0, {0.0, 0.35, 2.0}, o);
    REQUIRE(sol.step_ts.size() == sol.stats.accepted);
    REQUIRE(sol.step_ys.size() == sol.stats.accepted);
    CHECK(sol.step_ts.back() == 2.0);
    for (std::size_t i = 0; i < sol.step_ts.size(); ++i) {
        if (i > 0) CHECK(sol.step_ts[i] > sol.step_ts[i - 1]);
        const double t = sol.step_ts[i];
        CHECK(std::abs(sol.step_ys[i][0] - std::exp(-t)) < 1e-7);
        CHECK(std::abs(sol.step_ys[i][1] - std::exp(-2.0 * t)) < 1e-7);
    }
    CHECK(sol.step_ys.back() == sol.ys.back());  // the last step ends on the last output
    const Solution<std::vector<double>> plain = solve(decay, y0, {0.0, 0.35, 2.0}, {.rtol = 1e-8, .atol = 1e-10});
    CHECK(plain.step_ts.empty());
    CHECK(plain.step_ys.empty());
    CHECK(plain.stats.nfe == sol.stats.nfe);  // keeping the states changes no step
}

TEST_CASE("next_step: the planned step, which a continuing solve starts with") {
    const std::vector<double> y0{1.0, 1.0};
    const Options o{.rtol = 1e-8, .atol = 1e-10};
    const Solution<std::vector<double>> first = solve(decay, y0, {0.0, 1.0}, o);
    REQUIRE(first.next_step > 0.0);
    Options cont = o;
    cont.first_step = first.next_step;
    double first_h = 0.0;
    cont.step_callback = [&](const StepInfo& s) {
        if (first_h == 0.0) first_h = s.h;
    };
    const Solution<std::vector<double>> second = solve(decay, first.ys.back(), {1.0, 3.0}, cont);
    CHECK(first_h == doctest::Approx(first.next_step));
    CHECK(std::abs(second.ys.back()[0] - std::exp(-3.0)) < 1e-7);
    // Backwards too: the magnitude is what carries over.
    const Solution<std::vector<double>> back = solve(decay, first.ys.back(), {1.0, 0.5}, o);
    CHECK(back.next_step > 0.0);
    // Fixed steps plan nothing.
    CHECK(solve(decay, y0, {0.0, 1.0}, {.method = Method::rk4, .step_size = 0.1}).next_step == 0.0);
}
