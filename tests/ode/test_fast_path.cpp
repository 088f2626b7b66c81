// The plain-vector fast path (std::array, std::vector, in-place f) on classic small ODEs.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <vector>

#include "odenet/ode/solve.hpp"
#include "problems.hpp"

using namespace odenet;
using namespace odenet::ode;
using namespace odenet::ode::testing;

TEST_CASE("Lorenz: NFE of dopri5 within 20% of SciPy's RK45 at the same settings") {
    // Reference, computed once with SciPy 1.10.1 (Debian python3-scipy):
    //   python3 -c "from scipy.integrate import solve_ivp
    //   f = lambda t, u: [10*(u[1]-u[0]), u[0]*(28-u[2])-u[1], u[0]*u[1]-8/3*u[2]]
    //   s = solve_ivp(f, (0, 20), [1, 1, 1], method='RK45', rtol=1e-8, atol=1e-8); print(s.nfev)"
    // prints 10928 (1790 accepted steps).
    const double kScipyNfe = 10928;
    const std::array<double, 3> y0{1.0, 1.0, 1.0};
    const auto sol = solve(Lorenz{}, y0, {0.0, 20.0}, {.method = Method::dopri5, .rtol = 1e-8, .atol = 1e-8});
    CAPTURE(sol.stats.nfe);
    CAPTURE(sol.stats.accepted);
    CAPTURE(sol.stats.rejected);
    CHECK(std::abs(sol.stats.nfe - kScipyNfe) < 0.2 * kScipyNfe);
}

TEST_CASE("the same Lorenz solve on std::array, std::vector and Tensor agrees") {
    const std::vector<double> ts = {0.0, 1.0, 2.0};
    const Options opt{.rtol = 1e-10, .atol = 1e-10};
    const auto a = solve(Lorenz{}, std::array<double, 3>{1.0, 1.0, 1.0}, ts, opt);
    const auto v = solve(Lorenz{}, std::vector<double>{1.0, 1.0, 1.0}, ts, opt);
    const auto t = solve(Lorenz{}, Tensor<double>{1.0, 1.0, 1.0}, ts, opt);
    for (int i = 0; i < 3; ++i) {
        CHECK(a.ys[2][i] == v.ys[2][i]);  // the same kernels, bit for bit
        // The Tensor instance of f may contract to FMAs differently: agree to roundoff, amplified
        // by Lorenz's Lyapunov exponent (~0.9) over t = 2.
        CHECK(a.ys[2][i] == doctest::Approx(t.ys[2](i)).epsilon(1e-10));
    }
    CHECK(a.stats.nfe == v.stats.nfe);
}

TEST_CASE("Van der Pol (mu = 1) settles on its limit cycle: its period and amplitude") {
    // x'' = (1 - x²) x' - x from (2, 0). The limit cycle has period 6.66328686 and amplitude
    // 2.00861986: the published values (6.6632868593, 2.0086198609), which a classical RK4 in
    // Python, independent of odenet (h = 2.5e-4 over t <= 100), reproduces to 1e-8. A solution
    // that decays, grows or drifts in phase fails. Outputs every 1e-3 on t in [80, 100] (three
    // periods, long after the transient); upward zero crossings of x and the maxima of x (where
    // x' = 0) are located by linear interpolation between outputs, which errs by about
    // dt² |x''| / 8 = 2.5e-7 (|x''| <= 2 at those points), so 1e-6 is the tolerance.
    auto vdp = [](double, const std::array<double, 2>& u, std::array<double, 2>& du) {
        du[0] = u[1];
        du[1] = (1.0 - u[0] * u[0]) * u[1] - u[0];
    };
    std::vector<double> ts = {0.0};
    for (int i = 0; i <= 20000; ++i) ts.push_back(80.0 + 1e-3 * i);
    const auto sol = solve(vdp, std::array<double, 2>{2.0, 0.0}, ts, {.rtol = 1e-10, .atol = 1e-10});
    std::vector<double> crossings, maxima;
    for (std::size_t i = 1; i + 1 < ts.size(); ++i) {
        const auto &a = sol.ys[i], &b = sol.ys[i + 1];
        if (a[0] < 0.0 && b[0] >= 0.0) crossings.push_back(ts[i] + (ts[i + 1] - ts[i]) * a[0] / (a[0] - b[0]));
        if (a[1] > 0.0 && b[1] <= 0.0) maxima.push_back(a[0] + (b[0] - a[0]) * a[1] / (a[1] - b[1]));
    }
    REQUIRE(crossings.size() >= 3);
    REQUIRE(maxima.size() >= 3);
    for (std::size_t i = 1; i < crossings.size(); ++i) {
        CAPTURE(crossings[i]);
        CHECK(std::abs(crossings[i] - crossings[i - 1] - 6.66328686) < 1e-6);
    }
    for (double m : maxima) {
        CAPTURE(m);
        CHECK(std::abs(m - 2.00861986) < 1e-6);
    }
}

TEST_CASE("three-body figure-eight returns to its initial state after one period") {
    // Chenciner & Montgomery (2000), Ann. Math. 152:881-901; initial data and period
    // T = 6.32591398 from Simo's computation, given to 8 digits (so 1e-5 is the best one can ask).
    using S = std::array<double, 12>;  // x1 y1 x2 y2 x3 y3, then the velocities
    const S y0 = {0.97000436, -0.24308753, -0.97000436, 0.24308753, 0.0, 0.0,
                  0.466203685, 0.43236573, 0.466203685, 0.43236573, -0.93240737, -0.86473146};
    auto gravity = [](double, const S& u, S& du) {
        for (int i = 0; i < 6; ++i) du[i] = u[6 + i];
        for (int i = 6; i < 12; ++i) du[i] = 0.0;
        for (int a = 0; a < 3; ++a)
            for (int b = 0; b < 3; ++b) {
                if (a == b) continue;
                const double dx = u[2 * b] - u[2 * a], dy = u[2 * b + 1] - u[2 * a + 1];
                const double r3 = std::pow(dx * dx + dy * dy, 1.5);
                du[6 + 2 * a] += dx / r3;
                du[6 + 2 * a + 1] += dy / r3;
            }
    };
    const auto sol = solve(gravity, y0, {0.0, 6.32591398}, {.method = Method::dop853, .rtol = 1e-11, .atol = 1e-11});
    double worst = 0.0;
    for (int i = 0; i < 12; ++i) worst = std::max(worst, std::abs(sol.ys[1][i] - y0[i]));
    CHECK(worst < 1e-5);
}
