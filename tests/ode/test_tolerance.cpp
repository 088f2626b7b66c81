// Tolerance proportionality (HNW I, Sec. II.4): with local extrapolation a 5(4) pair takes steps
// h ~ tol^(1/5) and makes a global error ~ h^5 ~ tol, so over 4 decades the global error should
// follow the tolerance with slope ~1.
#include <doctest/doctest.h>

#include <string>

#include "odenet/ode/solve.hpp"
#include "problems.hpp"

using namespace odenet;
using namespace odenet::ode;
using namespace odenet::ode::testing;

TEST_CASE("global error of dopri5 and tsit5 is proportional to the tolerance over 4 decades") {
    const LinearSystem p;
    const std::vector<double> ts = {0.0, 10.0};
    for (Method m : {Method::dopri5, Method::tsit5}) {
        CAPTURE(std::string(method_name(m)));
        std::vector<double> tols, errs;
        for (double tol = 1e-4; tol >= 0.99e-8; tol /= 10) {
            const auto sol = solve(p, p.y0(), ts, {.method = m, .rtol = tol, .atol = tol});
            tols.push_back(tol);
            errs.push_back(max_abs_diff(sol.ys.back(), p.exact(ts.back())));
        }
        CAPTURE(errs[0]);
        CAPTURE(errs[4]);
        const double slope = fitted_slope(tols, errs);
        CAPTURE(slope);
        // Slope 1 in theory; step-size rounding and the controller's safety factor bend it a
        // little: within 0.15 ("roughly in proportion").
        CHECK(std::abs(slope - 1.0) < 0.15);
        // And the error stays within two decades of the tolerance at every point.
        for (std::size_t i = 0; i < tols.size(); ++i) {
            CHECK(errs[i] < 100 * tols[i]);
            CHECK(errs[i] > 0.01 * tols[i]);
        }
    }
}
