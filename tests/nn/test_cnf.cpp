// CNF (FFJORD): the change of variables against closed forms, the trace estimators, inversion,
// normalisation, gradient modes, and a short training run.
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

#include "ode/expm.hpp"
#include "odenet/autodiff.hpp"
#include "odenet/nn/cnf.hpp"
#include "odenet/optim/adam.hpp"

using namespace odenet;

namespace {

// f(t, z) = z Aᵀ: linear, time-independent dynamics with a closed-form flow z(T) = e^{AT} x.
struct LinearDynamics : nn::TimeLayer {
    Var a;
    explicit LinearDynamics(Tensor<double> m) : a(std::move(m)) { register_parameter("a", a); }
    Var forward(const Var& /*t*/, const Var& z) override { return gemm(z, a, false, true); }
};

double max_abs_diff(const Tensor<double>& x, const Tensor<double>& y) {
    REQUIRE(x.size() == y.size());
    double m = 0;
    for (std::size_t i = 0; i < x.size(); ++i) m = std::max(m, std::abs(x.data()[i] - y.data()[i]));
    return m;
}

nn::CNFOptions tight(nn::Trace trace = nn::Trace::exact, ode::Grad grad = ode::Grad::adjoint) {
    return {.trace = trace, .odeint = {.solver = {.method = ode::Method::dopri5, .rtol = 1e-10, .atol = 1e-10}, .grad = grad}};
}

// log N(z; 0, I) per row of z (n, d).
Tensor<double> log_normal(const Tensor<double>& z) {
    const std::size_t n = z.shape()[0], d = z.shape()[1];
    Tensor<double> out = Tensor<double>::from_shape({n});
    for (std::size_t i = 0; i < n; ++i) {
        double s = 0;
        for (std::size_t j = 0; j < d; ++j) s += z(i, j) * z(i, j);
        out(i) = -0.5 * s - 0.5 * double(d) * std::log(2 * std::numbers::pi);
    }
    return out;
}

}  // namespace

TEST_CASE("CNF with linear dynamics: Δlogp = −tr(A)·T and log p(x) match the closed form") {
    manual_seed(1);
    const Tensor<double> a{{-0.3, 0.8, 0.1}, {-0.5, 0.2, 0.4}, {0.3, -0.6, -0.1}};  // tr A = −0.2
    const double T = 0.7, tr = -0.2;
    auto f = std::make_shared<LinearDynamics>(a);
    nn::CNF flow(f, 3, tight());
    flow.options.end_time = T;
    flow.sqrt_end_time.mutable_value<double>()() = std::sqrt(T);
    const Tensor<double> x = randn<double>({5, 3});
    nn::FlowResult r = flow.transform(Var(x));
    for (std::size_t i = 0; i < 5; ++i) CHECK(r.delta_logp.value<double>()(i) == doctest::Approx(-tr * T).epsilon(1e-9));
    // z(T) = x e^{ATᵀ}; log p(x) = log N(z(T)) + tr(A) T.
    const Tensor<double> e = testing::expm(Tensor<double>(a * T));
    Tensor<double> z = xt::zeros<double>({5, 3});
    for (std::size_t i = 0; i < 5; ++i)
        for (std::size_t j = 0; j < 3; ++j)
            for (std::size_t k = 0; k < 3; ++k) z(i, j) += e(j, k) * x(i, k);
    CHECK(max_abs_diff(r.z.value<double>(), z) < 1e-8);  // rtol = atol = 1e-10 over a short, smooth solve
    const Tensor<double> expected = log_normal(z) + tr * T;
    CHECK(max_abs_diff(flow.log_prob(Var(x)).value<double>(), expected) < 1e-8);
    CHECK(flow.last_nfe() > 0);

    SUBCASE("Rademacher Hutchinson is exact for a diagonal A (εᵀAε = Σ A_ii ε_i² = tr A)") {
        auto g = std::make_shared<LinearDynamics>(Tensor<double>{{-0.4, 0.0}, {0.0, 0.9}});
        nn::CNF h(g, 2, tight(nn::Trace::hutchinson));
        nn::FlowResult rh = h.transform(Var(randn<double>({4, 2})));
        for (std::size_t i = 0; i < 4; ++i) CHECK(rh.delta_logp.value<double>()(i) == doctest::Approx(-0.5 * 0.5).epsilon(1e-9));
    }
}

TEST_CASE("Hutchinson's estimator is unbiased: its mean over many probes matches the exact trace") {
    manual_seed(2);
    auto f = nn::make_toy_dynamics(3, {16, 16});
    const Var t = Var::scalar(0.3);
    Var z(randn<double>({4, 3}), true);
    const Var fz = (*f)(t, z);
    const Tensor<double> exact = nn::divergence(fz, z, nn::Trace::exact, {}, false).value<double>();
    for (nn::Noise noise : {nn::Noise::rademacher, nn::Noise::gaussian}) {
        CAPTURE(nn::noise_name(noise));
        const int m = 4000;
        Tensor<double> s1 = xt::zeros<double>({4}), s2 = xt::zeros<double>({4});
        for (int k = 0; k < m; ++k) {
            const Var eps = noise == nn::Noise::gaussian ? Var(randn<double>({4, 3})) : Var(rademacher<double>({4, 3}));
            const Tensor<double> est = nn::divergence(fz, z, nn::Trace::hutchinson, {eps}, false).value<double>();
            for (std::size_t i = 0; i < 4; ++i) {
                s1(i) += est(i, 0);
                s2(i) += est(i, 0) * est(i, 0);
            }
        }
        for (std::size_t i = 0; i < 4; ++i) {
            const double mean = s1(i) / m, var = s2(i) / m - mean * mean;
            const double se = std::sqrt(var / m);
            // 4.5 standard errors: a false alarm in any of the 8 comparisons has probability < 1e-4
            // (CLT, m = 4000). The estimator's spread is not degenerate, so the band is not trivial.
            CHECK(var > 1e-6);
            CHECK(std::abs(mean - exact(i, 0)) < 4.5 * se);
        }
    }
    SUBCASE("K probes average: the estimate with K probes is the mean of the single-probe estimates") {
        const Var e1(rademacher<double>({4, 3})), e2(rademacher<double>({4, 3}));
        const Tensor<double> a = nn::divergence(fz, z, nn::Trace::hutchinson, {e1}, false).value<double>();
        const Tensor<double> b = nn::divergence(fz, z, nn::Trace::hutchinson, {e2}, false).value<double>();
        const Tensor<double> ab = nn::divergence(fz, z, nn::Trace::hutchinson, {e1, e2}, false).value<double>();
        CHECK(max_abs_diff(ab, Tensor<double>(0.5 * (a + b))) < 1e-14);
    }
}

TEST_CASE("CNF is invertible, and sample-then-log_prob agrees with the base density change") {
    manual_seed(3);
    auto f = nn::make_toy_dynamics(2, {16, 16});
    nn::CNF flow(f, 2, tight());
    flow.options.odeint.solver.rtol = flow.options.odeint.solver.atol = 1e-9;
    const Tensor<double> x = randn<double>({6, 2});
    nn::FlowResult fwd = flow.transform(Var(x));
    nn::FlowResult back = flow.inverse(fwd.z);
    CHECK(max_abs_diff(back.z.value<double>(), x) < 1e-7);  // two solves at 1e-9 tolerances
    CHECK(max_abs_diff(back.delta_logp.value<double>(), Tensor<double>(-fwd.delta_logp.value<double>())) < 1e-7);
    // The flow moves points: the test would pass trivially for f = 0.
    CHECK(max_abs_diff(fwd.z.value<double>(), x) > 1e-2);

    // Sampling: x = flow⁻¹(z), log p(x) = log N(z) + Δ from the backward solve; log_prob(x) must agree.
    const Tensor<double> z = randn<double>({6, 2});
    nn::FlowResult s = flow.inverse(Var(z));
    const Tensor<double> via_sample = log_normal(z) + s.delta_logp.value<double>();
    CHECK(max_abs_diff(flow.log_prob(s.z).value<double>(), via_sample) < 1e-7);
    CHECK(max_abs_diff(s.delta_logp.value<double>(), Tensor<double>(xt::zeros<double>({6}))) > 1e-3);

    // sample() is inverse() of base draws without the trace.
    Generator g1(7), g2(7);
    const Tensor<double> xs = flow.sample(6, g1).value<double>();
    const Tensor<double> zs = randn<double>({6, 2}, g2);
    CHECK(max_abs_diff(xs, flow.inverse(Var(zs)).z.value<double>()) < 1e-7);
    const Var path = flow.trajectory(Var(zs), 5);
    CHECK(path.shape() == Shape{5, 6, 2});
    CHECK(max_abs_diff(reshape(slice(path, 0, 4, 5), {6, 2}).value<double>(), xs) < 1e-7);
}

TEST_CASE("the density of a randomly initialised CNF integrates to 1 over a large grid") {
    manual_seed(4);
    auto f = nn::make_toy_dynamics(2, {32, 32});
    nn::CNF flow(f, 2, {.end_time = 1.0, .odeint = {.solver = {.rtol = 1e-6, .atol = 1e-6}}});
    // Midpoint rule on [-7, 7]² with 140 x 140 cells: the base's mass outside is ~1e-11, and
    // the rule's error on a smooth density at h = 0.1 is ~h²/24 · ∫|∇²p| ≈ 1e-3 of the mass.
    const std::size_t n = 140;
    const double lo = -7, h = 14.0 / n;
    Tensor<double> pts = Tensor<double>::from_shape({n * n, 2});
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            pts(i * n + j, 0) = lo + (double(i) + 0.5) * h;
            pts(i * n + j, 1) = lo + (double(j) + 0.5) * h;
        }
    NoGradGuard no_grad;
    const Tensor<double> lp = flow.log_prob(Var(pts)).value<double>();
    const Tensor<double> base = log_normal(pts);
    double mass = 0, moved = 0;
    for (std::size_t k = 0; k < lp.size(); ++k) {
        mass += std::exp(lp(k)) * h * h;
        moved = std::max(moved, std::abs(lp(k) - base(k)) * std::exp(base(k)));
    }
    CHECK(mass == doctest::Approx(1.0).epsilon(0.01));
    CHECK(moved > 1e-3);  // the flow is not the identity: the check has something to check
}

TEST_CASE("CNF loss gradients: adjoint and checkpointed agree with direct backprop (float64)") {
    auto run = [](nn::Trace trace, ode::Grad grad, double reg) {
        manual_seed(5);
        auto f = nn::make_toy_dynamics(2, {8, 8});
        nn::CNFOptions o = tight(trace, grad);
        o.kinetic_weight = reg;
        o.jacobian_weight = reg;
        nn::CNF flow(f, 2, o);
        const Var x(randn<double>({5, 2}));
        const auto [log_p, reg_term] = flow.log_prob_and_regularization(x);
        Var loss = -mean(log_p) + reg_term;
        backward(loss);
        std::vector<Tensor<double>> g;
        for (const Var& p : flow.parameters()) g.push_back(p.grad().value<double>());
        return g;
    };
    for (nn::Trace trace : {nn::Trace::exact, nn::Trace::hutchinson})
        for (double reg : {0.0, 0.1}) {
            CAPTURE(nn::trace_name(trace));
            CAPTURE(reg);
            const auto direct = run(trace, ode::Grad::direct, reg);
            for (ode::Grad mode : {ode::Grad::adjoint, ode::Grad::checkpointed}) {
                CAPTURE(ode::grad_name(mode));
                const auto other = run(trace, mode, reg);
                REQUIRE(other.size() == direct.size());
                // Solves at rtol = atol = 1e-10: the discrete and continuous adjoints differ by
                // O(tolerance) relative to the gradient's size.
                for (std::size_t i = 0; i < direct.size(); ++i)
                    for (std::size_t k = 0; k < direct[i].size(); ++k)
                        CHECK(other[i].data()[k] == doctest::Approx(direct[i].data()[k]).epsilon(1e-6).scale(1e-3));
            }
        }
}

TEST_CASE("CNF: the end-time gradient matches finite differences") {
    manual_seed(6);
    auto f = nn::make_toy_dynamics(2, {8, 8});
    nn::CNF flow(f, 2, tight());
    const Var x(randn<double>({5, 2}));
    backward(-mean(flow.log_prob(x)));
    const double analytic = flow.sqrt_end_time.grad().item();
    auto loss_at = [&](double s) {
        NoGradGuard no_grad;
        flow.sqrt_end_time.mutable_value<double>()() = s;
        return -mean(flow.log_prob(x)).item();
    };
    const double s0 = flow.sqrt_end_time.item(), eps = 1e-5;
    const double numeric = (loss_at(s0 + eps) - loss_at(s0 - eps)) / (2 * eps);
    CHECK(std::abs(analytic) > 1e-3);
    CHECK(analytic == doctest::Approx(numeric).epsilon(1e-5));  // central differences, O(eps²) + solver 1e-10
}

namespace {
// 200 iterations of batch 64 (about 2.5 s of CPU in Release). Measured (seed 8): held-out NLL
// 5.94 at initialisation -> 3.10 after training (data entropy 2.83). The threshold 3.5 sits well
// below the best any single Gaussian can do (the moment-matched one: ln 2π + 1 + ln 4.125 = 4.25
// nats, per-axis variance 0.5·8 + 0.125), so passing needs a multi-modal density, and leaves
// 0.4 nats of room for platform differences in the optimisation path.
constexpr int kTrainIterations = 200;
constexpr double kNllThreshold = 3.5;

// FFJORD's 8gaussians (lib/toy_data.py), drawn here: test_nn does not link odenet::util.
Tensor<double> eight_gaussians(std::size_t n, Generator& gen) {
    const double r = 1.0 / std::sqrt(2.0);
    const double cx[8] = {1, -1, 0, 0, r, r, -r, -r}, cy[8] = {0, 0, 1, -1, r, -r, r, -r};
    Tensor<double> out = Tensor<double>::from_shape({n, 2});
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t k = std::size_t(gen.uniform() * 8) % 8;
        out(i, 0) = (0.5 * gen.normal() + 4 * cx[k]) / 1.414;
        out(i, 1) = (0.5 * gen.normal() + 4 * cy[k]) / 1.414;
    }
    return out;
}

double held_out_nll(nn::CNF& flow, const Tensor<double>& x) {
    NoGradGuard no_grad;
    return -mean(flow.log_prob(Var(x))).item();
}
}  // namespace

TEST_CASE("a short training run on 8gaussians lowers the held-out NLL") {
    manual_seed(8);
    Generator gen(9), test_gen(10);
    auto f = nn::make_toy_dynamics(2, {32, 32});
    nn::CNF flow(f, 2, {.odeint = {.solver = {.rtol = 1e-5, .atol = 1e-5}}});
    optim::Adam opt(flow.parameters(), {.lr = 5e-3, .weight_decay = 1e-5});
    const Tensor<double> test = eight_gaussians(2000, test_gen);
    const double before = held_out_nll(flow, test);
    for (int it = 0; it < kTrainIterations; ++it) {
        Var loss = -mean(flow.log_prob(Var(eight_gaussians(64, gen))));
        opt.zero_grad();
        backward(loss);
        opt.step();
    }
    const double after = held_out_nll(flow, test);
    MESSAGE("held-out NLL " << before << " -> " << after << " (data entropy 2.832)");
    CHECK(after < kNllThreshold);
    CHECK(after > 2.832 - 0.1);  // no model beats the data's entropy (2000 points: ±0.03 sampling noise)
}

TEST_CASE("CNF in float32 agrees with float64, and trains (adjoint gradients defined)") {
    manual_seed(11);
    auto f = nn::make_toy_dynamics(2, {16, 16});
    nn::CNF flow(f, 2, {.odeint = {.solver = {.rtol = 1e-6, .atol = 1e-6}}});
    const Tensor<double> x = randn<double>({8, 2});
    const Var lp64 = flow.log_prob(Var(x));
    backward(-mean(lp64));
    std::vector<Tensor<double>> grads64;
    for (const Var& p : flow.parameters()) grads64.push_back(p.grad().value<double>());
    flow.zero_grad();

    flow.to(Dtype::float32);
    CHECK(flow.sqrt_end_time.dtype() == Dtype::float32);
    const Var lp32 = flow.log_prob(to_dtype(Var(x), Dtype::float32));
    REQUIRE(lp32.dtype() == Dtype::float32);
    // float32 rounding (6e-8 relative) accumulated over ~30 evaluations, plus the 1e-6 solves.
    CHECK(max_abs_diff(to_dtype(lp32, Dtype::float64).value<double>(), lp64.value<double>()) < 1e-4);
    backward(-mean(lp32));
    // The adjoint gradients in float32 match float64's: both run the same 1e-6 solves, whose
    // error (not float32's) dominates; 1e-4 as for the log-densities above.
    const auto params = flow.parameters();
    REQUIRE(params.size() == grads64.size());
    for (std::size_t i = 0; i < params.size(); ++i) {
        CAPTURE(i);
        REQUIRE(params[i].grad().defined());
        REQUIRE(params[i].grad().dtype() == Dtype::float32);
        CHECK(max_abs_diff(to_dtype(params[i].grad(), Dtype::float64).value<double>(), grads64[i]) < 1e-4);
    }

    // And it trains: Adam steps in float32 on a fixed batch from N((1, -1), 0.5² I) lower its NLL.
    // The initial flow is near the identity, so the NLL starts near that of N(0, I) on this batch
    // (about 2.9 nats) and can fall towards the batch's own entropy (about 0.9); 20 steps of lr 0.02
    // take off more than 0.1, which float32 noise in the loss (1e-5) cannot fake.
    Generator gen(12);
    Tensor<double> batch = randn<double>({64, 2}, gen) * 0.5;
    for (std::size_t i = 0; i < 64; ++i) batch(i, 0) += 1.0, batch(i, 1) -= 1.0;
    const Var data = to_dtype(Var(batch), Dtype::float32);
    optim::Adam opt(flow.parameters(), {.lr = 0.02});
    std::vector<double> losses;
    for (int step = 0; step <= 20; ++step) {
        Var loss = -mean(flow.log_prob(data));
        REQUIRE(loss.dtype() == Dtype::float32);
        losses.push_back(loss.item());
        if (step == 20) break;
        opt.zero_grad();
        backward(loss);
        opt.step();
    }
    MESSAGE("float32 NLL on the batch: " << losses.front() << " -> " << losses.back());
    CHECK(std::isfinite(losses.back()));
    CHECK(losses.back() < losses.front() - 0.1);
}

TEST_CASE("CNF API: the regulariser comes with log p, the trace is a call argument, the flow knows its dimension") {
    manual_seed(12);
    auto f = nn::make_toy_dynamics(2, {8, 8});
    nn::CNF exact(f, 2, tight(nn::Trace::exact));
    nn::CNF hutch(f, 2, tight(nn::Trace::hutchinson));  // the same dynamics, another estimator
    const Var x(randn<double>({5, 2}));
    const Tensor<double> reference = exact.log_prob(x).value<double>();
    // Hutchinson's estimate differs from the exact trace for a random f; the override does not.
    CHECK(max_abs_diff(hutch.log_prob(x).value<double>(), reference) > 1e-6);
    CHECK(max_abs_diff(hutch.log_prob(x, nn::Trace::exact).value<double>(), reference) < 1e-12);
    CHECK(hutch.options.trace == nn::Trace::hutchinson);  // nothing was flipped behind the call

    nn::CNFOptions reg_options = tight();
    reg_options.kinetic_weight = 0.5;
    nn::CNF reg_flow(f, 2, reg_options);
    const nn::LogProb both = reg_flow.log_prob_and_regularization(x);
    const nn::FlowResult r = reg_flow.transform(x);
    CHECK(both.regularization.item() == doctest::Approx(0.5 * mean(r.kinetic).item()).epsilon(1e-12));
    CHECK(exact.log_prob_and_regularization(x).regularization.item() == 0.0);

    CHECK(exact.dim() == 2);
    CHECK(exact.sample(7).shape() == Shape{7, 2});
    CHECK_THROWS_WITH_AS(exact.log_prob(Var(randn<double>({4, 3}))), doctest::Contains("expects points (N, 2), got (4, 3)"),
                         ShapeError);
    CHECK_THROWS_WITH_AS(exact.log_prob(Var(randn<double>({0, 2}))), doctest::Contains("empty batch"), ValueError);
    CHECK_THROWS_WITH_AS(nn::CNF(f, 0), doctest::Contains("dim must be > 0"), ValueError);
    CHECK_THROWS_WITH_AS(nn::CNF(f, 2, {.kinetic_weight = std::nan("")}), doctest::Contains("kinetic_weight must be finite and >= 0"),
                         ValueError);
    CHECK_THROWS_WITH_AS(nn::CNF(f, 2, {.jacobian_weight = -1}), doctest::Contains("jacobian_weight"), ValueError);
}
