// Every failure mode raises SolverError naming t, h and the reason; nothing partial is returned.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>

#include "odenet/core/error.hpp"
#include "odenet/ode/solve.hpp"
#include "problems.hpp"

using namespace odenet;
using namespace odenet::ode;
using namespace odenet::ode::testing;

namespace {
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

template <class F>
std::string solver_error_of(F&& run) {
    try {
        run();
    } catch (const SolverError& e) {
        CHECK(contains(e.what(), "t = "));
        CHECK(contains(e.what(), "h = "));
        return e.what();
    }
    FAIL("no SolverError thrown");
    return "";
}

const double kNaN = std::numeric_limits<double>::quiet_NaN();
}  // namespace

TEST_CASE("exceeding max_steps names the dominant component") {
    std::array<double, 3> y0{1.0, 1.0, 1.0};
    const std::string msg = solver_error_of([&] { solve(Lorenz{}, y0, {0.0, 20.0}, {.max_steps = 50}); });
    CHECK(contains(msg, "maximum number of steps (50)"));
    CHECK(contains(msg, "dominated by flat index"));
}

TEST_CASE("step size underflow names the sample and unit that blew up") {
    // Batch of 3 samples with 2 units; only sample 2, unit 1 follows y' = y^2 (blow-up at t = 1).
    auto f = [](double, const Tensor<double>& y) {
        Tensor<double> dy = -y;
        dy(2, 1) = y(2, 1) * y(2, 1);
        return dy;
    };
    const Tensor<double> y0 = xt::ones<double>({3, 2});
    double t_fail = 0.0;
    const std::string msg = solver_error_of([&] {
        try {
            solve(f, y0, {0.0, 2.0});
        } catch (const SolverError& e) {
            t_fail = e.t();
            throw;
        }
    });
    CHECK(contains(msg, "step size underflow"));
    CHECK(contains(msg, "batch 2, component 1 of 2"));
    CHECK(contains(msg, "shape (3, 2)"));
    CHECK(t_fail == doctest::Approx(1.0).epsilon(1e-3));  // the blow-up time of y' = y^2, y(0) = 1
}

TEST_CASE("an explicit method on a stiff problem fails naming the implicit method to use") {
    // Robertson's kinetics (HNW II, Sec. IV.1): dopri5 runs out of steps long before t = 1e3.
    auto f = [](double, const std::array<double, 3>& y) {
        return std::array<double, 3>{-0.04 * y[0] + 1e4 * y[1] * y[2], 0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] * y[1],
                                     3e7 * y[1] * y[1]};
    };
    const std::string msg =
        solver_error_of([&] { solve(f, std::array<double, 3>{1.0, 0.0, 0.0}, {0.0, 1e3}, {.max_steps = 2000}); });
    CHECK(contains(msg, "maximum number of steps (2000)"));
    CHECK(contains(msg, "stiff"));
    CHECK(contains(msg, "Method::rodas4"));
    CHECK(contains(msg, "stiff_switch"));
    // What it suggests works: rodas4 solves the same problem in a few hundred steps.
    const auto sol = solve(f, std::array<double, 3>{1.0, 0.0, 0.0}, {0.0, 1e3},
                           {.method = Method::rodas4, .rtol = 1e-6, .atol = 1e-10, .max_steps = 2000});
    CHECK(sol.stats.accepted < 500);
}

TEST_CASE("min_step turns a stiff stretch into an underflow error") {
    const std::string msg = solver_error_of([] {
        solve(Harmonic{.omega = 50.0}, Harmonic{}.y0(), {0.0, 1.0}, {.rtol = 1e-10, .atol = 1e-10, .min_step = 0.01});
    });
    CHECK(contains(msg, "step size underflow"));
}

TEST_CASE("NaN in the initial state, in f at t0, and in f later on") {
    auto f = [](double t, const Tensor<double>& y) {
        Tensor<double> dy = -y;
        if (t > 0.5) dy(1) = kNaN;
        return dy;
    };
    Tensor<double> bad = {1.0, kNaN};
    CHECK(contains(solver_error_of([&] { solve(f, bad, {0.0, 1.0}); }), "in the initial state y0 at flat index 1"));

    auto nan_at_start = [](double, const Tensor<double>& y) { return Tensor<double>(y.shape(), kNaN); };
    CHECK(contains(solver_error_of([&] { solve(nan_at_start, Tensor<double>{1.0}, {0.0, 1.0}); }), "f(t0, y0)"));

    // Adaptive: the steps past t = 0.5 are rejected until h underflows, and the error says why.
    double t_fail = 0.0;
    const std::string msg = solver_error_of([&] {
        try {
            solve(f, Tensor<double>{1.0, 2.0}, {0.0, 1.0});
        } catch (const SolverError& e) {
            t_fail = e.t();
            throw;
        }
    });
    CHECK(contains(msg, "NaN"));
    CHECK(contains(msg, "flat index 1"));
    CHECK(t_fail == doctest::Approx(0.5).epsilon(1e-6));

    // Fixed steps cannot retry: the first non-finite state is the error.
    const std::string fixed = solver_error_of([&] { solve(f, Tensor<double>{1.0, 2.0}, {0.0, 1.0}, {.method = Method::rk4, .step_size = 0.1}); });
    CHECK(contains(fixed, "non-finite value"));
    CHECK(contains(fixed, "new state"));
}

TEST_CASE("non-monotone output times") {
    const Decay<double> p;
    CHECK(contains(solver_error_of([&] { solve(p, p.y0(), {0.0, 1.0, 0.5}); }), "not strictly increasing: ts[2] = 0.5"));
    CHECK(contains(solver_error_of([&] { solve(p, p.y0(), {1.0, 0.0, 0.0}); }), "not strictly decreasing"));
}

TEST_CASE("shape mismatch between f's output and y") {
    auto f = [](double, const Tensor<double>& y) { return Tensor<double>(Tensor<double>::shape_type{3}, 0.0); };
    const std::string msg = solver_error_of([&] { solve(f, Tensor<double>{1.0, 2.0}, {0.0, 1.0}); });
    CHECK(contains(msg, "shape mismatch: f(t, y) returned shape (3,) for a state of shape (2,)"));
}

TEST_CASE("invalid options raise ValueError") {
    const Decay<double> p;
    CHECK_THROWS_WITH_AS(solve(p, p.y0(), {0.0, 1.0}, {.rtol = -1.0}), "solve options: rtol must be finite and >= 0, got -1",
                         ValueError);
    CHECK_THROWS_WITH_AS(solve(p, p.y0(), {0.0, 1.0}, {.min_step = 1.0, .max_step = 0.1}),
                         "solve options: min_step 1 > max_step 0.1", ValueError);
    CHECK_THROWS_WITH_AS(solve(p, p.y0(), {0.0, 1.0}, {.max_steps = 0}), "solve options: max_steps must be > 0", ValueError);
    CHECK_THROWS_WITH_AS(solve(p, p.y0(), {0.0, 1.0}, {.rtol = 0.0, .atol = 0.0}),
                         "solve options: rtol and atol cannot both be 0", ValueError);
}

// rtol = atol = inf accepted every step: y' = -y from y(0) = 1 gave y(5) = 0.91 (exact: 0.0067).
// Every real-valued option is checked for NaN and infinity, naming the option and the value.
TEST_CASE("non-finite options raise ValueError naming the option") {
    const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
    auto decay = [](double, const Tensor<double>& y) { return Tensor<double>(-y); };
    const Tensor<double> y0 = {1.0};
    auto error_of = [&](Options o) {
        try {
            solve(decay, y0, {0.0, 5.0}, o);
        } catch (const ValueError& e) {
            return std::string(e.what());
        }
        return std::string("no ValueError");
    };
    CHECK(error_of({.rtol = inf, .atol = inf}) == "solve options: rtol must be finite and >= 0, got inf");
    CHECK(error_of({.rtol = 1e-6, .atol = inf}) == "solve options: atol must be finite and >= 0, got inf");
    CHECK(error_of({.rtol = nan}) == "solve options: rtol must be finite and >= 0, got nan");
    CHECK(error_of({.atol = nan}) == "solve options: atol must be finite and >= 0, got nan");
    CHECK(error_of({.first_step = inf}) == "solve options: first_step must be finite and >= 0, got inf");
    CHECK(error_of({.first_step = nan}) == "solve options: first_step must be finite and >= 0, got nan");
    CHECK(error_of({.min_step = nan}) == "solve options: min_step must be finite and >= 0, got nan");
    // min_step = inf slipped through min_step <= max_step when max_step was inf too.
    CHECK(error_of({.min_step = inf}) == "solve options: min_step must be finite and >= 0, got inf");
    CHECK(error_of({.max_step = nan}) == "solve options: max_step must be > 0 (inf for no limit), got nan");
    CHECK(error_of({.step_size = -inf}) == "solve options: step_size must be finite and >= 0, got -inf");
    CHECK(error_of({.controller = {.safety = nan}}) == "solve options: controller.safety must be finite and > 0, got nan");
    CHECK(error_of({.controller = {.min_factor = 1.0}}) == "solve options: controller.min_factor must be in (0, 1), got 1");
    CHECK(error_of({.controller = {.max_factor = inf}}) ==
          "solve options: controller.max_factor must be finite and >= 1, got inf");
    CHECK(error_of({.controller = {.beta2 = nan}}) == "solve options: controller.beta1 and beta2 must be finite, got 0.85 and nan");
    // The defaults, and an infinite max_step (the default), remain valid; the answer is right.
    const Solution<Tensor<double>> ok = solve(decay, y0, {0.0, 5.0}, Options{.rtol = 1e-8, .atol = 1e-10});
    CHECK(ok.ys.back()(0) == doctest::Approx(std::exp(-5.0)).epsilon(1e-6));
}
