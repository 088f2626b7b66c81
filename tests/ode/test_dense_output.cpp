// Dense output of adaptive solves: 100 output times must not shorten the steps, and the
// interpolated values must match a tight-tolerance solve.
#include <doctest/doctest.h>

#include <string>

#include "odenet/ode/solve.hpp"
#include "problems.hpp"

using namespace odenet;
using namespace odenet::ode;
using namespace odenet::ode::testing;

TEST_CASE("dense output at 100 points matches a tight-tolerance solve") {
    const Nonlinear p;
    std::vector<double> ts;
    for (int i = 0; i <= 100; ++i) ts.push_back(0.05 * i);
    const auto reference = solve(p, p.y0(), ts, {.method = Method::dop853, .rtol = 1e-13, .atol = 1e-13});
    for (Method m : {Method::bosh3, Method::dopri5, Method::tsit5, Method::dop853}) {
        CAPTURE(std::string(method_name(m)));
        const double tol = 1e-7;
        const auto dense = solve(p, p.y0(), ts, {.method = m, .rtol = tol, .atol = tol});
        const auto ends = solve(p, p.y0(), {ts.front(), ts.back()}, {.method = m, .rtol = tol, .atol = tol});
        // The same steps with or without the 100 outputs: they do not force small steps.
        CHECK(dense.stats.accepted == ends.stats.accepted);
        double worst = 0.0;
        for (std::size_t i = 0; i < ts.size(); ++i) worst = std::max(worst, max_abs_diff(dense.ys[i], reference.ys[i]));
        CAPTURE(worst);
        // Steps are chosen so that the local error is ~tol; an interpolant of order >= 3 inside
        // such a step errs by the same order of magnitude, and the global error adds a few
        // multiples: 100 tol.
        CHECK(worst < 100 * tol);
        // The solution itself matches the closed form as well.
        CHECK(max_abs_diff(dense.ys.back(), p.exact(ts.back())) < 100 * tol);
    }
}

TEST_CASE("dense output at the step ends is exact, and NFE counts the extra stages") {
    const Nonlinear p;
    const Options opt{.method = Method::dop853, .rtol = 1e-6, .atol = 1e-6};
    // Where the steps end, found by a solve with no outputs in between.
    std::vector<double> ends;
    Options watch = opt;
    watch.step_callback = [&](const StepInfo& s) {
        if (s.accepted) ends.push_back(s.t + s.h);
    };
    const auto none = solve(p, p.y0(), {0.0, 1.0}, watch);
    REQUIRE(ends.size() >= 3);
    REQUIRE(ends.back() == 1.0);
    // Outputs at every step end: the same steps, no interpolation (dop853's interpolant would cost
    // 3 extra stages per step, so the same NFE shows none was built), and each output is the
    // step's own end state, bit for bit: the same as stepping to it and stopping there, one fixed
    // step of that size after another from the previous output.
    std::vector<double> ts = {0.0};
    ts.insert(ts.end(), ends.begin(), ends.end());
    const auto at_ends = solve(p, p.y0(), ts, opt);
    CHECK(at_ends.stats.accepted == none.stats.accepted);
    CHECK(at_ends.stats.nfe == none.stats.nfe);
    CHECK(max_abs_diff(at_ends.ys.back(), none.ys.back()) == 0.0);
    for (std::size_t i = 1; i < ts.size(); ++i) {
        CAPTURE(i);
        const auto one_step = solve(p, at_ends.ys[i - 1], {ts[i - 1], ts[i]},
                                    {.method = Method::dop853, .step_size = ts[i] - ts[i - 1]});
        REQUIRE(one_step.stats.accepted == 1);
        CHECK(max_abs_diff(at_ends.ys[i], one_step.ys.back()) == 0.0);
    }

    // Inside a step the interpolant is built: dop853's continuous extension needs three extra
    // stages in the step holding t = 0.3; its f1 is the next step's first stage, so it costs
    // nothing extra (t = 0.3 lies in the second of three steps at this tolerance; in the last
    // step f1 would cost one more).
    REQUIRE(ends.size() == 3);
    REQUIRE(ends[0] < 0.3);
    REQUIRE(0.3 < ends[1]);
    const auto one = solve(p, p.y0(), {0.0, 0.3, 1.0}, opt);
    CHECK(one.stats.nfe == none.stats.nfe + 3);
    CHECK(max_abs_diff(one.ys[2], none.ys[1]) == 0.0);
}
