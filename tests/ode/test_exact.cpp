#include "odenet/ode/norms.hpp"
// Adaptive solves against closed-form solutions (problems.hpp).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "odenet/ode/solve.hpp"
#include "problems.hpp"

using namespace odenet;
using namespace odenet::ode;
using namespace odenet::ode::testing;

namespace {
const std::vector<double> kTs = {0.0, 0.3, 1.0, 2.5};
// Every registered method with an error estimate (today bosh3, fehlberg2, dopri5, tsit5, dop853).
std::vector<Method> adaptive_methods() {
    std::vector<Method> out;
    for (Method m : all_methods())
        if (tableau(m).adaptive()) out.push_back(m);
    return out;
}
const std::vector<Method> kAdaptive = adaptive_methods();

// What the error of a tolerance-controlled solve of a problem depends on: the largest rate ω
// of its solution's modes (|λ| for y' = A y), the largest |y|, and by how much the problem can
// amplify an error made along the way (max-norm growth of a perturbation over the solve).
struct Scale {
    double omega;
    double ymax;
    double amplification;
};

// The global error of a tolerance-controlled solve is not bounded by the tolerance, but on these
// short, non-stiff problems the higher-order methods stay within a small multiple of it (100x).
//
// fehlberg2 needs a derived allowance: it propagates its 2nd-order solution (weights 1/512,
// 255/256, 1/512) but its error estimate is the local error of the 1st-order one (1/256,
// 255/256, 0), which for y' = λy is (ωh)²|y|/512, ω = |λ|. The controller keeps that estimate
// within atol + rtol|y| = tol (1 + |y|) here, so (ωh)² <= 512 tol (1 + |y|)/|y|, and the local
// error of the propagated solution, (ωh)³|y|/6 (its third-order term, 1/6 − 255/262144), is then at
// most (512/6) (ωh) tol (1 + |y|). Summed over the steps (Σ ωh = ω·span) and amplified along
// the way: (512/6) ω span (1 + ymax) amplification · tol. Twice that for the terms this
// leading-order count leaves out. Below that the error must stay; at t0 it is exactly 0.
double slack(Method m, const Scale& s, double span) {
    if (m != Method::fehlberg2) return 100.0;
    return 2 * (512.0 / 6) * s.omega * span * (1 + s.ymax) * s.amplification;
}

// LinearSystem: rotation-decay blocks a ± iw, a = −0.3, 0.1, w = 2, 0.7: ω = |−0.3 + 2i| = 2.02.
// Each (u, v) pair starts with norm <= √2 (components cos(1 + i)), which the rotation keeps and
// e^{0.1 t} grows: |y| <= 1.8 for t <= 2.5. A rotation turns a max-norm error into one up to √2
// larger; forwards the growth adds e^{0.1·2.5} = 1.3 (amplification 1.8), backwards e^{0.3·2.5}
// = 2.2 (amplification 3.1).
const Scale kLinearForward{.omega = 2.02, .ymax = 1.8, .amplification = 1.8};
const Scale kLinearBackward{.omega = 2.02, .ymax = 1.8, .amplification = 3.1};
// Harmonic (ω = 3): x = cos 3t, v = −3 sin 3t; the flow rotates the ellipse x² + v²/9, so an
// error in x comes back up to 3 times larger in v.
const Scale kHarmonic{.omega = 3.0, .ymax = 3.0, .amplification = 3.0};
// CosRhs: y = 0.5 + sin t (rate 1, |y| <= 1.5); f does not depend on y, so errors just add.
const Scale kCosRhs{.omega = 1.0, .ymax = 1.5, .amplification = 1.0};

template <class P>
void check_problem(const P& p, Method m, double tol, const std::vector<double>& ts, const Scale& scale) {
    CAPTURE(std::string(method_name(m)));
    const auto sol = solve(p, p.y0(), ts, {.method = m, .rtol = tol, .atol = tol});
    REQUIRE(sol.ys.size() == ts.size());
    for (std::size_t i = 0; i < ts.size(); ++i) {
        CAPTURE(ts[i]);
        CHECK(max_abs_diff(sol.ys[i], p.exact(ts[i])) <= slack(m, scale, std::abs(ts[i] - ts[0])) * tol);
    }
}
}  // namespace

TEST_CASE_TEMPLATE("exponential decay, float and double", T, float, double) {
    const Decay<T> p;
    // float carries ~7 digits: ask for 1e-5 and accept 1e-4 (roundoff of ~100 steps of 6e-8).
    const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-9;
    for (Method m : {Method::dopri5, Method::tsit5, Method::dop853}) {
        CAPTURE(std::string(method_name(m)));
        const auto sol = solve(p, p.y0(), kTs, {.method = m, .rtol = tol, .atol = tol});
        for (std::size_t i = 0; i < kTs.size(); ++i) CHECK(max_abs_diff(sol.ys[i], p.exact(kTs[i])) < 10 * tol);
        CHECK(sol.ys[0] == p.y0());
    }
}

TEST_CASE("linear system y' = A y against the matrix exponential") {
    for (Method m : kAdaptive) check_problem(LinearSystem{}, m, 1e-8, kTs, kLinearForward);
}

TEST_CASE("harmonic oscillator") {
    for (Method m : kAdaptive) check_problem(Harmonic{}, m, 1e-8, kTs, kHarmonic);
}

TEST_CASE("time-dependent right-hand side y' = cos t") {
    for (Method m : kAdaptive) check_problem(CosRhs{}, m, 1e-9, {0.0, 1.0, 4.0, 10.0}, kCosRhs);
}

TEST_CASE("integration backwards in time") {
    // From t = 2.5 back to 0: the same closed form, with decreasing ts.
    LinearSystem p;
    const std::vector<double> ts = {2.5, 1.0, 0.0};
    // y0 is made once and ys[0] compared with it: p.exact(2.5) with a literal argument may be
    // folded at compile time (correctly rounded) and differ by an ulp from the same call at run
    // time, depending on inlining (seen as 5.6e-17 at t0 once solve.hpp gained a branch).
    const Tensor<double> y0 = p.exact(ts[0]);
    for (Method m : kAdaptive) {
        CAPTURE(std::string(method_name(m)));
        const auto sol = solve(p, y0, ts, {.method = m, .rtol = 1e-8, .atol = 1e-8});
        CHECK(max_abs_diff(sol.ys[0], y0) == 0.0);
        for (std::size_t i = 1; i < ts.size(); ++i)
            CHECK(max_abs_diff(sol.ys[i], p.exact(ts[i])) <= slack(m, kLinearBackward, 2.5 - ts[i]) * 1e-8);
    }
}

TEST_CASE("fixed-step methods: the grid is ts, or step_size with interpolated outputs") {
    Harmonic p;
    // rk4 with h = 1e-3 over t <= 2.5: global error ~ C h^4 ~ 1e-11 (C ~ omega^5 t / 120 ~ 5).
    const auto sol = solve(p, p.y0(), kTs, {.method = Method::rk4, .step_size = 1e-3});
    for (std::size_t i = 0; i < kTs.size(); ++i) CHECK(max_abs_diff(sol.ys[i], p.exact(kTs[i])) < 1e-9);
    CHECK(sol.stats.accepted == 2500);
    CHECK(sol.stats.rejected == 0);
    // Without step_size, one step per output interval (torchdiffeq's convention).
    const auto coarse = solve(p, p.y0(), {0.0, 0.01, 0.02}, {.method = Method::rk4});
    CHECK(coarse.stats.accepted == 2);
    // h = 0.01, omega h = 0.03: local error ~ (omega h)^5 / 120 * 3 ~ 6e-10 per step.
    CHECK(max_abs_diff(coarse.ys[2], p.exact(0.02)) < 3e-9);
}

TEST_CASE("the step callback sees every attempted step") {
    std::size_t accepted = 0, rejected = 0;
    double last_t = -1.0;
    bool monotone = true;
    const Options opt{.rtol = 1e-10, .atol = 1e-10, .step_callback = [&](const StepInfo& s) {
                          (s.accepted ? accepted : rejected) += 1;
                          if (s.accepted) {
                              monotone = monotone && s.t > last_t && s.error_ratio <= 1.0;
                              last_t = s.t;
                          }
                      }};
    const auto sol = solve(LinearSystem{}, LinearSystem{}.y0(), kTs, opt);
    CHECK(accepted == sol.stats.accepted);
    CHECK(rejected == sol.stats.rejected);
    CHECK(monotone);
    // dopri5 is FSAL: 6 evaluations per attempt, plus f(t0) and the initial-step probe.
    CHECK(sol.stats.nfe == 6 * (sol.stats.accepted + sol.stats.rejected) + 2);
}

TEST_CASE("a custom norm is used for error control") {
    // The max norm is never smaller than the RMS, so the solve takes at least as many steps.
    LinearSystem p;
    const auto rms = solve(p, p.y0(), kTs, {.rtol = 1e-6, .atol = 1e-6});
    const auto mx = solve(p, p.y0(), kTs, {.rtol = 1e-6, .atol = 1e-6, .norm = max_norm});
    CHECK(mx.stats.accepted > rms.stats.accepted);
    CHECK(max_abs_diff(mx.ys.back(), p.exact(2.5)) < 1e-4);
}

TEST_CASE("time stays float64 with a float32 state") {
    // Near t = 1e7 a float cannot tell t from t + 0.5 (its spacing there is 1), so this solve
    // only works if every time and step size is a double.
    auto f = [](double t, const Tensor<float>& y) { return Tensor<float>(y.shape(), static_cast<float>(std::cos(t - 1e7))); };
    const std::vector<double> ts = {1e7, 1e7 + 0.5, 1e7 + 1.0};
    const auto sol = solve(f, Tensor<float>{0.0f}, ts, {.rtol = 1e-6, .atol = 1e-6});
    // y = sin(t - 1e7); float roundoff over ~20 steps stays below 1e-5.
    CHECK(sol.ys[1](0) == doctest::Approx(std::sin(0.5)).epsilon(1e-5));
    CHECK(sol.ys[2](0) == doctest::Approx(std::sin(1.0)).epsilon(1e-5));
}
