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

TEST_CASE("Van der Pol (mu = 1) settles on its limit cycle") {
    auto vdp = [](double, const std::array<double, 2>& u, std::array<double, 2>& du) {
        du[0] = u[1];
        du[1] = (1.0 - u[0] * u[0]) * u[1] - u[0];
    };
    const auto sol = solve(vdp, std::array<double, 2>{2.0, 0.0}, {0.0, 100.0}, {.rtol = 1e-8, .atol = 1e-8});
    const auto tight = solve(vdp, std::array<double, 2>{2.0, 0.0}, {0.0, 100.0},
                             {.method = Method::dop853, .rtol = 1e-12, .atol = 1e-12});
    // Over ~15 periods the phase error grows; 1e-4 is ~1000x the tolerance, still tight for a
    // non-contractive phase.
    CHECK(std::abs(sol.ys[1][0] - tight.ys[1][0]) < 1e-4);
    // The limit cycle of mu = 1 has amplitude ~2.01 in x.
    CHECK(std::abs(tight.ys[1][0]) < 2.05);
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
