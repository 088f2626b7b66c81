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
    // dop853's continuous extension needs three extra stages in the step holding t = 0.3; its f1
    // is the next step's first stage, so it costs nothing extra (t = 0.3 lies in the second of
    // three steps at this tolerance; in the last step f1 would cost one more).
    const auto one = solve(p, p.y0(), {0.0, 0.3, 1.0}, {.method = Method::dop853, .rtol = 1e-6, .atol = 1e-6});
    const auto none = solve(p, p.y0(), {0.0, 1.0}, {.method = Method::dop853, .rtol = 1e-6, .atol = 1e-6});
    CHECK(one.stats.nfe == none.stats.nfe + 3);
    CHECK(max_abs_diff(one.ys[2], none.ys[1]) == 0.0);
}
