// The implicit methods (rosenbrock23, rodas4, trbdf2) and stiff switching: measured orders,
// L-stability, exact solutions of stiff problems, Jacobians three ways, block-diagonal systems,
// and switching on Van der Pol.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <vector>

#include "odenet/core/tensor.hpp"
#include "odenet/ode/implicit.hpp"
#include "odenet/ode/solve.hpp"

using namespace odenet;
using namespace odenet::ode;

namespace {

using Vec = std::vector<double>;

// Slope of log(error) against log(h) by least squares.
double fitted_order(const std::vector<double>& hs, const std::vector<double>& errs) {
    const double n = static_cast<double>(hs.size());
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (std::size_t i = 0; i < hs.size(); ++i) {
        const double x = std::log(hs[i]), y = std::log(errs[i]);
        sx += x, sy += y, sxx += x * x, sxy += x * y;
    }
    return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

// A smooth, mildly stiff, non-autonomous problem with a known solution:
// y1' = −10 (y1 − cos t) − sin t,  y2' = −(y2 − sin t) + cos t + (y1 − cos t):
// y1 = cos t + e^{−10 t}, y2 = sin t + (e^{−t} − e^{−10 t}) / 9 · ... (solved below exactly).
// Exact: with u = y1 − cos t = e^{−10t}, v = y2 − sin t: v' = −v + u, v(0) = 0 → v = (e^{−t} − e^{−10t})/9.
Vec mild(double t, const Vec& y) {
    return {-10.0 * (y[0] - std::cos(t)) - std::sin(t), -(y[1] - std::sin(t)) + std::cos(t) + (y[0] - std::cos(t))};
}
Vec mild_exact(double t) {
    return {std::cos(t) + std::exp(-10 * t), std::sin(t) + (std::exp(-t) - std::exp(-10 * t)) / 9.0};
}

// Fixed steps for an order test: the adaptive solver with max_step = first_step = h and a
// tolerance so loose that no step is rejected; every step then has size h.
double error_at_fixed_h(Method m, double h) {
    Options o{.method = m, .rtol = 1e6, .atol = 1e6, .first_step = h, .max_step = h};
    const auto sol = solve(mild, Vec{2.0, 0.0}, {0.0, 1.0}, o);
    REQUIRE(sol.stats.rejected == 0);
    const Vec ex = mild_exact(1.0);
    return std::max(std::abs(sol.ys.back()[0] - ex[0]), std::abs(sol.ys.back()[1] - ex[1]));
}

}  // namespace

TEST_CASE("implicit methods: the measured order is the nominal one within 0.2") {
    for (Method m : implicit_methods()) {
        const int nominal = is_rosenbrock(m) ? rosenbrock_tableau(m).order : esdirk_tableau(m).order;
        std::vector<double> hs, errs;
        for (double h : {1.0 / 5, 1.0 / 7, 1.0 / 10, 1.0 / 14, 1.0 / 20}) {
            hs.push_back(h);
            errs.push_back(error_at_fixed_h(m, h));
        }
        const double p = fitted_order(hs, errs);
        INFO(method_name(m), ": fitted order ", p, ", nominal ", nominal);
        CHECK(std::abs(p - nominal) <= 0.2);
    }
}

TEST_CASE("implicit methods: L-stable on y' = λy with λ = −1e8 (one step of any size decays)") {
    for (Method m : implicit_methods())
        for (double h : {1e-6, 1e-2, 1.0, 100.0}) {
            Options o{.method = m, .rtol = 1e6, .atol = 1e6, .first_step = h, .max_step = h, .autonomous = true};
            const auto sol = solve([](double, const Vec& y) { return Vec{-1e8 * y[0]}; }, Vec{1.0}, {0.0, h}, o);
            INFO(method_name(m), " h = ", h, ": y1 = ", sol.ys.back()[0]);
            // |R(hλ)| < 1 at every size, and L-stability's R(z) → 0 as z → −∞ (like 1/z): at
            // hλ = −1e6 and beyond the step must damp below 1e-4.
            CHECK(std::abs(sol.ys.back()[0]) < 1.0);
            if (h >= 1e-2) CHECK(std::abs(sol.ys.back()[0]) < 1e-4);
        }
}

TEST_CASE("implicit methods: Prothero-Robinson y' = −λ(y − g) + g' to tolerance, λ up to 1e6") {
    for (Method m : implicit_methods())
        for (double lambda : {1e2, 1e4, 1e6}) {
            auto f = [lambda](double t, const Vec& y) { return Vec{-lambda * (y[0] - std::sin(t)) + std::cos(t)}; };
            const Options o{.method = m, .rtol = 1e-6, .atol = 1e-6};
            const auto sol = solve(f, Vec{0.0}, {0.0, 2.0, 10.0}, o);
            const double err = std::max(std::abs(sol.ys[1][0] - std::sin(2.0)), std::abs(sol.ys[2][0] - std::sin(10.0)));
            INFO(method_name(m), " λ = ", lambda, ": error ", err, ", steps ", sol.stats.accepted);
            CHECK(err < 1e-4);
            // Stability does not limit the step (an explicit method needs about 3λ steps here).
            CHECK(sol.stats.accepted < 10000);
        }
}

TEST_CASE("implicit methods: a stiff linear system against its matrix exponential") {
    // y' = A y with A = V diag(−1, −1e3, −1e6) V⁻¹, V = [[1,1,0],[0,1,1],[1,0,1]]:
    // y(t) = V diag(e^{λ t}) V⁻¹ y0.
    const std::array<double, 3> lam = {-1.0, -1e3, -1e6};
    const double V[3][3] = {{1, 1, 0}, {0, 1, 1}, {1, 0, 1}};
    const double Vinv[3][3] = {{0.5, -0.5, 0.5}, {0.5, 0.5, -0.5}, {-0.5, 0.5, 0.5}};
    double A[3][3] = {};
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j)
            for (int k = 0; k < 3; ++k) A[i][j] += V[i][k] * lam[k] * Vinv[k][j];
    auto f = [&](double, const Vec& y) {
        Vec d(3, 0.0);
        for (int i = 0; i < 3; ++i)
            for (int j = 0; j < 3; ++j) d[i] += A[i][j] * y[j];
        return d;
    };
    auto exact = [&](double t, const Vec& y0) {
        Vec c(3, 0.0), y(3, 0.0);
        for (int k = 0; k < 3; ++k)
            for (int j = 0; j < 3; ++j) c[k] += Vinv[k][j] * y0[j];
        for (int i = 0; i < 3; ++i)
            for (int k = 0; k < 3; ++k) y[i] += V[i][k] * std::exp(lam[k] * t) * c[k];
        return y;
    };
    const Vec y0 = {1.0, 2.0, 3.0};
    for (Method m : implicit_methods())
        for (bool user_jacobian : {false, true}) {
            Options o{.method = m, .rtol = 1e-8, .atol = 1e-10, .autonomous = true};
            if (user_jacobian)
                o.jacobian = [&](double, std::span<const double>, std::span<double> J) {
                    for (int i = 0; i < 3; ++i)
                        for (int j = 0; j < 3; ++j) J[i * 3 + j] = A[i][j];
                };
            const auto sol = solve(f, y0, {0.0, 1e-3, 1.0, 5.0}, o);
            double err = 0.0;
            for (std::size_t k = 1; k < sol.ts.size(); ++k) {
                const Vec ex = exact(sol.ts[k], y0);
                for (int i = 0; i < 3; ++i) err = std::max(err, std::abs(sol.ys[k][i] - ex[i]) / (1e-10 + 1e-8 * std::abs(ex[i])));
            }
            INFO(std::string(method_name(m)), std::string(user_jacobian ? " (user J)" : " (differences)"), ": relative error ", err,
                 ", nfe ", sol.stats.nfe, ", njac ", sol.stats.njac, ", nlu ", sol.stats.nlu);
            CHECK(err < 1000.0);  // in units of the tolerance
            CHECK(sol.stats.njac > 0);
            CHECK(sol.stats.nlu > 0);
            CHECK(sol.stats.accepted < 20000);
        }
}

TEST_CASE("rodas4: Robertson's kinetics to t = 40 against Hairer & Wanner's reference") {
    // HNW II, Sec. IV.10 (and the IVP test set): y(40) = (0.7158270687193135, 9.185534764529451e-6,
    // 0.2841637457459219)... to the digits they print; we check 1e-7 relative.
    auto f = [](double, const Vec& y) {
        return Vec{-0.04 * y[0] + 1e4 * y[1] * y[2], 0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] * y[1],
                   3e7 * y[1] * y[1]};
    };
    const Vec ref = {0.7158270687193135, 9.185534764529451e-6, 0.2841637457459219};
    for (Method m : implicit_methods()) {
        const auto sol = solve(f, Vec{1.0, 0.0, 0.0}, {0.0, 40.0},
                               {.method = m, .rtol = 1e-9, .atol = 1e-14, .max_steps = 200000, .autonomous = true});
        for (int i = 0; i < 3; ++i) {
            INFO(method_name(m), " component ", i, ": ", sol.ys.back()[i], " vs ", ref[i], "; steps ", sol.stats.accepted);
            CHECK(std::abs(sol.ys.back()[i] - ref[i]) <= 1e-6 * std::abs(ref[i]));
        }
    }
}

TEST_CASE("implicit methods: a block-diagonal Jacobian gives the full one's solution") {
    // Four independent Robertson-like systems with different rates, as a (4, 3) tensor.
    auto f = [](double, const Tensor<double>& y) {
        Tensor<double> d(y.shape());
        for (std::size_t b = 0; b < 4; ++b) {
            const double k1 = 0.04 * (b + 1), y1 = y(b, 0), y2 = y(b, 1), y3 = y(b, 2);
            d(b, 0) = -k1 * y1 + 1e4 * y2 * y3;
            d(b, 1) = k1 * y1 - 1e4 * y2 * y3 - 3e7 * y2 * y2;
            d(b, 2) = 3e7 * y2 * y2;
        }
        return d;
    };
    Tensor<double> y0({4, 3}, 0.0);
    for (std::size_t b = 0; b < 4; ++b) y0(b, 0) = 1.0;
    for (Method m : implicit_methods()) {
        Options full{.method = m, .rtol = 1e-7, .atol = 1e-12, .autonomous = true};
        Options blocks = full;
        blocks.jacobian_blocks = 4;
        const auto a = solve(f, y0, {0.0, 10.0}, full), b = solve(f, y0, {0.0, 10.0}, blocks);
        double diff = 0.0;
        for (std::size_t i = 0; i < 12; ++i) diff = std::max(diff, std::abs(a.ys.back().data()[i] - b.ys.back().data()[i]));
        INFO(method_name(m), ": max difference ", diff, "; nfe full ", a.stats.nfe, " blocks ", b.stats.nfe);
        // The same Jacobian entries; only LAPACK's order of operations on the larger matrix
        // differs, which can move trbdf2's Newton stopping test by an iteration.
        CHECK(diff < 1e-8);
        CHECK(b.stats.nfe < a.stats.nfe);  // 3 evaluations per Jacobian instead of 12
    }
}

TEST_CASE("stiff_switch: Van der Pol mu = 1000 switches where it turns stiff and saves evaluations") {
    const double mu = 1000.0;
    // y1' = y2, y2' = mu (1 − y1²) y2 − y1 on [0, 3000], about two periods (Hairer & Wanner II,
    // Sec. IV.1 in unscaled time): slow stretches where the problem is stiff, fast jumps where
    // it is not.
    auto f = [mu](double, const Vec& y) { return Vec{y[1], mu * (1 - y[0] * y[0]) * y[1] - y[0]}; };
    const Vec y0 = {2.0, 0.0};
    const std::vector<double> ts = {0.0, 3000.0};
    std::vector<std::pair<double, Method>> steps;
    Options o{.method = Method::dopri5, .rtol = 1e-6, .atol = 1e-6, .max_steps = 1000000, .autonomous = true,
              .stiff_switch = Method::rodas4};
    o.step_callback = [&](const StepInfo& s) {
        if (s.accepted) steps.push_back({s.t, s.method});
    };
    const auto sw = solve(f, y0, ts, o);
    const auto imp = solve(f, y0, ts, {.method = Method::rodas4, .rtol = 1e-6, .atol = 1e-6, .autonomous = true});
    INFO("switching: nfe ", sw.stats.nfe, ", switches ", sw.stats.switches, ", stiff steps ", sw.stats.stiff_steps,
         " of ", sw.stats.accepted, "; rodas4 alone: nfe ", imp.stats.nfe, ", steps ", imp.stats.accepted);
    CHECK(sw.stats.switches >= 2);
    CHECK(sw.stats.nfe < imp.stats.nfe);
    // The first slow stretch (until the jump near t = 807) turns stiff early and is stepped
    // implicitly; the jump itself, where |f| is large and h tiny, explicitly.
    bool implicit_in_slow = false, explicit_in_jump = false;
    for (const auto& [t, m] : steps) {
        if (t > 100 && t < 700 && m == Method::rodas4) implicit_in_slow = true;
        if (t > 800 && t < 815 && m == Method::dopri5) explicit_in_jump = true;
    }
    CHECK(implicit_in_slow);
    CHECK(explicit_in_jump);
    CHECK(std::abs(sw.ys.back()[0] - imp.ys.back()[0]) < 1e-2);
}

TEST_CASE("implicit methods: a nonlinear problem with a second root, y' = −y², stays on the right one") {
    // The stage equation z = ψ − hγ z² has a negative root too; a difference Jacobian based on
    // trbdf2's stage slope instead of f(t, y) once led its Newton iterations there (y(20) < 0).
    for (Method m : implicit_methods())
        for (double tol : {1e-4, 1e-6}) {
            const auto sol = solve([](double, const Vec& y) { return Vec{-y[0] * y[0]}; }, Vec{1.0}, {0.0, 5.0, 20.0},
                                   {.method = m, .rtol = tol, .atol = tol, .autonomous = true});
            INFO(std::string(method_name(m)), " rtol ", tol, ": y(5) ", sol.ys[1][0], ", y(20) ", sol.ys[2][0]);
            CHECK(std::abs(sol.ys[1][0] - 1.0 / 6) < 200 * tol);
            CHECK(std::abs(sol.ys[2][0] - 1.0 / 21) < 200 * tol);
        }
}

TEST_CASE("implicit methods: Van der Pol mu = 1000 over two periods and Robertson to t = 1e11") {
    const double mu = 1000.0;
    auto vdp = [mu](double, const Vec& y) { return Vec{y[1], mu * (1 - y[0] * y[0]) * y[1] - y[0]}; };
    const auto ref = solve(vdp, Vec{2.0, 0.0}, {0.0, 3000.0},
                           {.method = Method::rodas4, .rtol = 1e-11, .atol = 1e-11, .max_steps = 1000000, .autonomous = true});
    auto rob = [](double, const Vec& y) {
        return Vec{-0.04 * y[0] + 1e4 * y[1] * y[2], 0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] * y[1], 3e7 * y[1] * y[1]};
    };
    for (Method m : implicit_methods()) {
        const auto v = solve(vdp, Vec{2.0, 0.0}, {0.0, 3000.0},
                             {.method = m, .rtol = 1e-6, .atol = 1e-6, .max_steps = 1000000, .autonomous = true});
        INFO(std::string(method_name(m)), ": Van der Pol y1(3000) ", v.ys.back()[0], " against ", ref.ys.back()[0]);
        CHECK(std::abs(v.ys.back()[0] - ref.ys.back()[0]) < 1e-2);  // the jump times amplify errors about 100x
        // Hairer & Wanner II, Sec. IV.10: y(1e11) = (2.083340149701255e-8, 8.333360770334713e-14, 0.9999999791665050).
        // The start needs steps of 1e-6 (the step-size floor is 8 eps |t|, not 8 eps t_end).
        const auto r = solve(rob, Vec{1.0, 0.0, 0.0}, {0.0, 1e11},
                             {.method = m, .rtol = 1e-8, .atol = 1e-16, .max_steps = 1000000, .autonomous = true});
        INFO(std::string(method_name(m)), ": Robertson y(1e11) = ", r.ys.back()[0], ", ", r.ys.back()[1]);
        CHECK(r.ys.back()[0] == doctest::Approx(2.083340149701255e-8).epsilon(1e-3));
        CHECK(r.ys.back()[1] == doctest::Approx(8.333360770334713e-14).epsilon(1e-3));
    }
}

TEST_CASE("implicit methods: edge cases a user meets (empty state, jumps outside the span, NaN in f)") {
    for (Method m : implicit_methods()) {
        CAPTURE(std::string(method_name(m)));
        // An empty state solves like dopri5's, without asking LAPACK for a 0 x 0 factorisation.
        const auto empty = solve([](double, const Vec& y) { return y; }, Vec{}, {0.0, 1.0}, {.method = m});
        CHECK(empty.ys.back().empty());
        // Jump times outside the span are ignored, as options.hpp says.
        const auto outside = solve([](double, const Vec& y) { return Vec{-y[0]}; }, Vec{1.0}, {0.0, 1.0},
                                   {.method = m, .rtol = 1e-8, .atol = 1e-10, .jump_times = {5.0, -1.0}});
        CHECK(outside.ys.back()[0] == doctest::Approx(std::exp(-1.0)).epsilon(1e-6));
        // f turning NaN past t = 0.5: the failure says so.
        try {
            solve([](double t, const Vec& y) { return Vec{t > 0.5 ? std::nan("") : -y[0]}; }, Vec{1.0}, {0.0, 1.0},
                  {.method = m});
            FAIL("no error");
        } catch (const SolverError& e) {
            CHECK(std::string(e.what()).find("NaN or Inf") != std::string::npos);
        }
    }
}

TEST_CASE("implicit methods: a jump to stiffness at t = 1 is stepped to, hopped and integrated on") {
    // u = y − cos t decays at rate 1 until t = 1 and at 1e4 after: y = cos t + e^{−t} before,
    // cos t + e^{−1} e^{−1e4 (t − 1)} after (y(0) = 2).
    auto f = [](double t, const Vec& y) { return Vec{-(t < 1.0 ? 1.0 : 1e4) * (y[0] - std::cos(t)) - std::sin(t)}; };
    auto exact = [](double t) { return std::cos(t) + (t < 1.0 ? std::exp(-t) : std::exp(-1.0 - 1e4 * (t - 1.0))); };
    const std::vector<double> ts = {0.0, 0.5, 1.0 + 2e-4, 2.0};
    for (Method m : implicit_methods()) {
        CAPTURE(std::string(method_name(m)));
        Options with{.method = m, .rtol = 1e-8, .atol = 1e-10, .save_steps = true, .jump_times = {1.0}};
        Options without = with;
        without.jump_times.clear();
        const auto a = solve(f, Vec{2.0}, ts, with), b = solve(f, Vec{2.0}, ts, without);
        for (std::size_t i = 1; i < ts.size(); ++i) {
            CAPTURE(ts[i]);
            CHECK(a.ys[i][0] == doctest::Approx(exact(ts[i])).epsilon(1e-6));
        }
        // The jump is hopped: a saved step ends within a few ulps after t = 1.
        bool hopped = false;
        for (double t : a.step_ts) hopped = hopped || (t > 1.0 && t - 1.0 < 1e-14);
        CHECK(hopped);
        INFO("rejected with the jump ", a.stats.rejected, ", without ", b.stats.rejected);
        CHECK(a.stats.rejected < b.stats.rejected);
    }
}

TEST_CASE("implicit methods: options that cannot work are refused, naming the option") {
    auto f = [](double, const Vec& y) { return Vec{-y[0], -y[1], -y[2]}; };
    const Vec y0 = {1.0, 1.0, 1.0};
    auto message = [&](const Options& o) -> std::string {
        try {
            solve(f, y0, {0.0, 1.0}, o);
        } catch (const ValueError& e) {
            return e.what();
        }
        return "no error";
    };
    CHECK(message({.method = Method::rodas4, .jacobian_blocks = 0}).find("jacobian_blocks") != std::string::npos);
    CHECK(message({.method = Method::rodas4, .jacobian_blocks = 2}).find("does not divide") != std::string::npos);
    CHECK(message({.method = Method::rodas4, .step_size = 0.1}).find("adaptive only") != std::string::npos);
    CHECK(message({.method = Method::rk4, .stiff_switch = Method::rodas4}).find("dopri5 or tsit5") != std::string::npos);
    CHECK(message({.method = Method::dopri5, .stiff_switch = Method::tsit5}).find("implicit method") != std::string::npos);
}
