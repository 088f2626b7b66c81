// odeint's three gradient modes against closed forms, against each other and against finite
// differences (diffrax test_adjoint, torchdiffeq test_adjoint_against_odeint).
#include <doctest/doctest.h>

#include <cmath>

#include <xtensor/xbuilder.hpp>

#include "ode/expm.hpp"
#include "odenet/autodiff.hpp"
#include "odenet/core/random.hpp"
#include "odenet/odeint/odeint.hpp"

using namespace odenet;
using namespace odenet::ode;
using odenet::testing::expm;
using odenet::testing::matmul_small;

namespace {

const Grad kModes[] = {Grad::direct, Grad::adjoint, Grad::checkpointed};

OdeintOptions tight(Grad g) {
    OdeintOptions o;
    o.solver = {.method = Method::dopri5, .rtol = 1e-10, .atol = 1e-10};
    o.grad = g;
    return o;
}

double max_abs(const Tensor<double>& x) {
    double m = 0;
    for (double v : x) m = std::max(m, std::abs(v));
    return m;
}

double max_rel_diff(const Var& a, const Var& b) {
    const auto& x = a.value<double>();
    const auto& y = b.value<double>();
    double scale = 0, diff = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        scale = std::max(scale, std::abs(y.data()[i]));
        diff = std::max(diff, std::abs(x.data()[i] - y.data()[i]));
    }
    return diff / std::max(scale, 1e-300);
}


}  // namespace

TEST_CASE("y' = A y, L = wᵀ y(T): gradients for A, y0 and T match closed forms in every mode") {
    const Tensor<double> A0 = {{-0.4, 1.1}, {-0.9, 0.2}};
    const Tensor<double> y00 = {0.7, -0.3};
    const Tensor<double> w0 = {1.3, 0.5};
    const double T = 1.7;
    // Closed forms: dL/dy0 = e^{AᵀT} w; dL/dT = wᵀ A e^{AT} y0;
    // dL/dA = ∫₀ᵀ e^{Aᵀ(T−s)} w y0ᵀ e^{Aᵀs} ds = upper-right block of exp(T [[Aᵀ, w y0ᵀ], [0, Aᵀ]])
    // (Van Loan 1978, "Computing integrals involving the matrix exponential").
    const Tensor<double> At = xt::transpose(A0);
    const Tensor<double> eAtT = expm(At * T);
    Tensor<double> block = Tensor<double>(Shape{4, 4}, 0.0);
    for (std::size_t i = 0; i < 2; ++i)
        for (std::size_t j = 0; j < 2; ++j) {
            block(i, j) = At(i, j) * T;
            block(i + 2, j + 2) = At(i, j) * T;
            block(i, j + 2) = w0(i) * y00(j) * T;
        }
    const Tensor<double> eb = expm(block);
    const Tensor<double> yT = matmul_small(expm(A0 * T), Tensor<double>(xt::reshape_view(y00, {2, 1})));
    for (Grad mode : kModes) {
        CAPTURE(grad_name(mode));
        Var A(A0, true), y0(y00, true), ts(Tensor<double>{0.0, T}, true);
        Var ys = odeint([&](const Var&, const Var& y) { return matmul(A, y); }, y0, ts, {A}, tight(mode));
        Var weights(Tensor<double>{{0.0, 0.0}, {w0(0), w0(1)}});
        backward(sum(ys * weights));
        for (std::size_t i = 0; i < 2; ++i) {
            const double gy0 = eAtT(i, 0) * w0(0) + eAtT(i, 1) * w0(1);
            CHECK(y0.grad().value<double>()(i) == doctest::Approx(gy0).epsilon(1e-7));
            for (std::size_t j = 0; j < 2; ++j) CHECK(A.grad().value<double>()(i, j) == doctest::Approx(eb(i, j + 2)).epsilon(1e-7));
        }
        const Tensor<double> AyT = matmul_small(A0, yT);
        const double dT = w0(0) * AyT(0, 0) + w0(1) * AyT(1, 0);
        CHECK(ts.grad().value<double>()(1) == doctest::Approx(dT).epsilon(1e-7));
        // t0: dL/dt0 = −⟨dL/dy0, A y0⟩
        const double gy0_0 = eAtT(0, 0) * w0(0) + eAtT(0, 1) * w0(1), gy0_1 = eAtT(1, 0) * w0(0) + eAtT(1, 1) * w0(1);
        const double f0_0 = A0(0, 0) * y00(0) + A0(0, 1) * y00(1), f0_1 = A0(1, 0) * y00(0) + A0(1, 1) * y00(1);
        CHECK(ts.grad().value<double>()(0) == doctest::Approx(-(gy0_0 * f0_0 + gy0_1 * f0_1)).epsilon(1e-7));
    }
}

namespace {

// A small time-dependent MLP, f(t, y) = tanh(y W1 + t c + b1) W2, batch of 3 two-vectors.
struct Mlp {
    Var W1, c, b1, W2;
    explicit Mlp(std::uint64_t seed) {
        Generator gen(seed);
        W1 = Var(Tensor<double>(randn<double>({2, 8}, gen) * 0.7), true);
        c = Var(randn<double>({8}, gen), true);
        b1 = Var(Tensor<double>(randn<double>({8}, gen) * 0.3), true);
        W2 = Var(Tensor<double>(randn<double>({8, 2}, gen) * 0.5), true);
    }
    std::vector<Var> params() const { return {W1, c, b1, W2}; }
    Var operator()(const Var& t, const Var& y) const { return matmul(tanh(matmul(y, W1) + t * c + b1), W2); }
};

// L = Σ_i Σ (ys[i] ⊙ Wᵢ) with fixed weights on every output time.
Var loss_of(const Var& ys) {
    Generator gen(99);
    return sum(ys * Var(randn<double>(ys.shape(), gen)));
}

struct Gradients {
    std::vector<Var> params;
    Var y0, ts;
    double loss;
};

Gradients run(Grad mode, const Tensor<double>& times, const OdeintOptions* custom = nullptr,
              OdeintStats* stats = nullptr) {
    Mlp f(5);
    Generator gen(6);
    Var y0(randn<double>({3, 2}, gen), true);
    Var ts(times, true);
    const OdeintSolution sol = odeint(std::ref(f), y0, ts, f.params(), custom ? *custom : tight(mode));
    Var loss = loss_of(sol.ys);
    backward(loss);
    if (stats) *stats = sol.stats();
    Gradients g{{}, y0.grad(), ts.grad(), loss.item()};
    for (const Var& p : f.params()) g.params.push_back(p.grad());
    return g;
}

double loss_at(const Tensor<double>& times, const std::function<void(Mlp&, Tensor<double>&)>& perturb) {
    Mlp f(5);
    Generator gen(6);
    Tensor<double> y0v = randn<double>({3, 2}, gen);
    perturb(f, y0v);
    NoGradGuard no_grad;
    Var ys = odeint(std::ref(f), Var(y0v), Var(times), {}, tight(Grad::direct));
    return loss_of(ys).item();
}

}  // namespace

TEST_CASE("MLP dynamics: adjoint, checkpointed and direct gradients agree, and match finite differences") {
    const Tensor<double> times = {0.0, 0.4, 1.1};
    const Gradients direct = run(Grad::direct, times);
    for (Grad mode : {Grad::adjoint, Grad::checkpointed}) {
        CAPTURE(grad_name(mode));
        const Gradients g = run(mode, times);
        CHECK(g.loss == doctest::Approx(direct.loss).epsilon(1e-12));
        // 1e-6 relative: both sides solve at rtol = atol = 1e-10; the modes differ by
        // discretisation error of the adjoint solve, well inside that.
        CHECK(max_rel_diff(g.y0, direct.y0) < 1e-6);
        CHECK(max_rel_diff(g.ts, direct.ts) < 1e-6);
        for (std::size_t p = 0; p < g.params.size(); ++p) CHECK(max_rel_diff(g.params[p], direct.params[p]) < 1e-6);
    }
    // Central differences (step 1e-5; truncation error ~1e-10 relative, solver error ~1e-10).
    const double eps = 1e-5;
    auto fd = [&](const std::function<void(Mlp&, Tensor<double>&, double)>& bump) {
        return (loss_at(times, [&](Mlp& f, Tensor<double>& y) { bump(f, y, eps); }) -
                loss_at(times, [&](Mlp& f, Tensor<double>& y) { bump(f, y, -eps); })) /
               (2 * eps);
    };
    CHECK(direct.y0.value<double>()(1, 0) ==
          doctest::Approx(fd([](Mlp&, Tensor<double>& y, double e) { y(1, 0) += e; })).epsilon(1e-6));
    CHECK(direct.params[0].value<double>()(1, 3) ==
          doctest::Approx(fd([](Mlp& f, Tensor<double>&, double e) { f.W1.mutable_value<double>()(1, 3) += e; }))
              .epsilon(1e-6));
    CHECK(direct.params[1].value<double>()(2) ==
          doctest::Approx(fd([](Mlp& f, Tensor<double>&, double e) { f.c.mutable_value<double>()(2) += e; })).epsilon(1e-6));
    for (std::size_t i = 0; i < 3; ++i) {
        CAPTURE(i);
        Tensor<double> up = times, down = times;
        up(i) += eps;
        down(i) -= eps;
        const double numeric = (loss_at(up, [](Mlp&, Tensor<double>&) {}) - loss_at(down, [](Mlp&, Tensor<double>&) {})) / (2 * eps);
        CHECK(direct.ts.value<double>()(i) == doctest::Approx(numeric).epsilon(1e-6));
    }
}

TEST_CASE("backwards in time: ts decreasing") {
    const Tensor<double> times = {1.0, 0.3, -0.2};
    const Gradients direct = run(Grad::direct, times);
    for (Grad mode : {Grad::adjoint, Grad::checkpointed}) {
        CAPTURE(grad_name(mode));
        const Gradients g = run(mode, times);
        CHECK(max_rel_diff(g.y0, direct.y0) < 1e-6);
        CHECK(max_rel_diff(g.ts, direct.ts) < 1e-6);
        for (std::size_t p = 0; p < g.params.size(); ++p) CHECK(max_rel_diff(g.params[p], direct.params[p]) < 1e-6);
    }
}

TEST_CASE("the plain adjoint drifts on unstable reverse dynamics; checkpointing does not") {
    // u' = −k u, v' = u: forward-stable, but reconstructing u backwards from u(T) multiplies the
    // forward error by e^{kT}. L = v(T) = u0 (1 − e^{−kT}) / k, so dL/dk = u0 (T e^{−kT}/k − (1 − e^{−kT})/k²).
    const double k0 = 2.0, T = 12.0, u0 = 1.0;
    const double exact = u0 * (T * std::exp(-k0 * T) / k0 - (1 - std::exp(-k0 * T)) / (k0 * k0));
    auto error_of = [&](Grad mode) {
        Var k(Tensor<double>(k0), true);
        Var y0(Tensor<double>{u0, 0.0});
        auto f = [&](const Var&, const Var& y) {
            Var u = slice(y, 0, 0, 1);
            return concat({-(k * u), u}, 0);
        };
        OdeintOptions o;
        o.solver = {.method = Method::dopri5, .rtol = 1e-6, .atol = 1e-8};
        o.grad = mode;
        Var ys = odeint(f, y0, Var(Tensor<double>{0.0, T}), {k}, o);
        backward(sum(ys * Var(Tensor<double>{{0.0, 0.0}, {0.0, 1.0}})));
        return std::abs(k.grad().item() - exact) / std::abs(exact);
    };
    const double adjoint_error = error_of(Grad::adjoint);
    const double checkpointed_error = error_of(Grad::checkpointed);
    MESSAGE("relative error of dL/dk: adjoint " << adjoint_error << ", checkpointed " << checkpointed_error);
    CHECK(adjoint_error > 1e-3);               // the drift is real at this horizon
    CHECK(checkpointed_error < 1e-5);          // solver tolerance level
    CHECK(checkpointed_error * 100 < adjoint_error);
}

TEST_CASE("the seminorm gives the same gradients with fewer backward evaluations") {
    const Tensor<double> times = {0.0, 2.0};
    OdeintOptions full = tight(Grad::adjoint), semi = tight(Grad::adjoint);
    full.solver.rtol = semi.solver.rtol = 1e-7;
    full.solver.atol = semi.solver.atol = 1e-7;
    semi.adjoint.seminorm = true;
    OdeintStats s_full, s_semi;
    const Gradients a = run(Grad::adjoint, times, &full, &s_full);
    const Gradients b = run(Grad::adjoint, times, &semi, &s_semi);
    MESSAGE("backward NFE: full norm " << s_full.backward.nfe << ", seminorm " << s_semi.backward.nfe);
    CHECK(s_semi.backward.nfe > 0);
    CHECK(s_semi.backward.nfe < s_full.backward.nfe);
    CHECK(max_rel_diff(b.y0, a.y0) < 1e-4);  // both at tolerance 1e-7
    for (std::size_t p = 0; p < a.params.size(); ++p) CHECK(max_rel_diff(b.params[p], a.params[p]) < 1e-4);
}

TEST_CASE("float32 agrees with float64 in every mode: states and gradients") {
    // y' = tanh(W y) on [0, 1], L = sum(ys), W and y0 exact in float32. The truth: float64 at
    // tolerance 1e-10. In each mode a float64 and a float32 run ask for the same rtol 1e-5,
    // atol 1e-6; float32 may be less accurate than float64 only by its rounding. y and the
    // gradients are O(1) and pass through about 20 steps x 7 stages of a few float32 roundings
    // each (1400 of 6e-8); independent roundings add up like a random walk, sqrt(1400) x 6e-8 =
    // 2e-6, and grow by at most e^{L T} = e^{1.2} < 3.4 (L = |W|₂ bounds the Lipschitz constant of
    // tanh(W y)): 8e-6, so we allow 1e-5.
    const Tensor<float> W0 = {{-0.5f, 1.0f}, {-1.0f, -0.2f}};
    const Tensor<float> y00 = {1.0f, 0.5f};
    struct Result {
        Tensor<double> ys, dW, dy0;
    };
    auto run = [&](Dtype dtype, Grad mode, double rtol, double atol) {
        Var W = to_dtype(Var(W0), dtype).detach(), y0 = to_dtype(Var(y00), dtype).detach();
        W.set_requires_grad(true);
        y0.set_requires_grad(true);
        OdeintOptions o;
        o.solver = {.rtol = rtol, .atol = atol};
        o.grad = mode;
        Var ys = odeint([&](const Var&, const Var& y) { return tanh(matmul(W, y)); }, y0, Var(Tensor<double>{0.0, 1.0}), {W}, o);
        backward(sum(ys));
        REQUIRE(ys.dtype() == dtype);
        REQUIRE(W.grad().dtype() == dtype);
        REQUIRE(y0.grad().dtype() == dtype);
        auto f64 = [](const Var& v) { return to_dtype(v, Dtype::float64).value<double>(); };
        return Result{f64(ys), f64(W.grad()), f64(y0.grad())};
    };
    const Result truth = run(Dtype::float64, Grad::direct, 1e-10, 1e-10);
    CHECK(max_abs(truth.dW) > 0.1);  // the gradients compared are not trivially small
    CHECK(max_abs(truth.dy0) > 0.1);
    const double rounding = 1e-5;
    for (Grad mode : kModes) {
        const std::string name = grad_name(mode);
        CAPTURE(name);
        const Result r64 = run(Dtype::float64, mode, 1e-5, 1e-6);
        const Result r32 = run(Dtype::float32, mode, 1e-5, 1e-6);
        auto check = [&](const char* what, const Tensor<double>& got32, const Tensor<double>& got64,
                         const Tensor<double>& want) {
            const double e32 = max_abs(got32 - want), e64 = max_abs(got64 - want);
            INFO(std::string(what), ": float32 error ", e32, ", float64 error ", e64);
            CHECK(e32 <= e64 + rounding);
        };
        check("ys", r32.ys, r64.ys, truth.ys);
        check("dL/dW", r32.dW, r64.dW, truth.dW);
        check("dL/dy0", r32.dy0, r64.dy0, truth.dy0);
    }
}

TEST_CASE("parameters of another dtype are refused") {
    Var W(Tensor<double>(Shape{1, 1}, 1.0), true);
    CHECK_THROWS_AS(odeint([&](const Var&, const Var& y) { return y; }, Var(Tensor<float>{1.0f}),
                           Var(Tensor<double>{0.0, 1.0}), {W}),
                    DtypeError);
}

// Many output times (#18: a latent ODE reads its trajectory at every observation time). The
// adjoint's backward solves one segment per output time; each segment now starts with the step
// the previous one planned instead of a new starting-step search. The checkpointed mode keeps its
// checkpoints from its one forward solve and re-solves each forward step once.
TEST_CASE("100 output times: the adjoint keeps its step size, checkpointing re-solves each forward step once") {
    Tensor<double> times = xt::linspace<double>(0.0, 2.0, 101);
    OdeintStats s_direct, s_adjoint, s_checkpointed;
    OdeintOptions o = tight(Grad::direct);
    o.solver.rtol = o.solver.atol = 1e-8;
    const Gradients direct = run(Grad::direct, times, &o, &s_direct);
    o.grad = Grad::adjoint;
    const Gradients adjoint = run(Grad::adjoint, times, &o, &s_adjoint);
    o.grad = Grad::checkpointed;
    const Gradients checkpointed = run(Grad::checkpointed, times, &o, &s_checkpointed);
    MESSAGE("NFE forward / backward: direct " << s_direct.forward.nfe << ", adjoint " << s_adjoint.forward.nfe << " / "
                                              << s_adjoint.backward.nfe << ", checkpointed "
                                              << s_checkpointed.forward.nfe << " / " << s_checkpointed.backward.nfe
                                              << " (ratio " << double(s_checkpointed.backward.nfe) / double(s_checkpointed.forward.nfe)
                                              << ")");
    // One forward solve each: the same steps, so the same count.
    CHECK(s_checkpointed.forward.nfe == s_adjoint.forward.nfe);
    CHECK(s_direct.forward.nfe == s_adjoint.forward.nfe);
    // The backward stops at each of the 100 output times (the loss's gradient there jumps the
    // adjoint state), so each segment costs at least one step of 7 evaluations. With a new
    // starting-step search per segment it took 1501 evaluations here (15x the forward's 98);
    // starting each segment with the step the last one planned, 808.
    CHECK(s_adjoint.backward.nfe < 10 * s_adjoint.forward.nfe);
    // The checkpointed backward re-solves each of the forward's 16 steps once, reading the output
    // times inside it from its dense output: 16 x 7 = 112 evaluations, plus 101 of f(tᵢ, yᵢ) for
    // dL/dts, 213 in all. When each step was cut at the output times inside it and every piece
    // re-solved as a step of its own, it took 906 (and 1603 with a starting-step search per piece).
    CHECK(s_checkpointed.backward.rejected == 0);
    CHECK(s_checkpointed.backward.accepted == s_checkpointed.forward.accepted);
    CHECK(s_checkpointed.backward.nfe <= 3 * s_checkpointed.forward.nfe);
    CHECK(max_rel_diff(adjoint.y0, direct.y0) < 1e-5);
    // The same discrete solve differentiated twice: equal to rounding (see the next test).
    CHECK(max_rel_diff(checkpointed.y0, direct.y0) < 1e-12);
    CHECK(max_rel_diff(checkpointed.ts, direct.ts) < 1e-12);
    for (std::size_t p = 0; p < direct.params.size(); ++p) {
        CHECK(max_rel_diff(adjoint.params[p], direct.params[p]) < 1e-5);
        CHECK(max_rel_diff(checkpointed.params[p], direct.params[p]) < 1e-12);
    }
}

// The checkpointed backward re-solves each forward step once from its checkpoint and reads the
// output times inside it from that step's dense output (Note [One re-solve per forward step] in
// odeint_checkpointed.cpp): it differentiates the same discrete solve as direct mode, so the two
// agree to rounding, not to the solver's tolerance. Measured worst relative differences: float64
// 1.1e-15 (dopri5) and 1e-17 (rk4); float32 1.3e-7, a few ulps (the forward's compiled
// arithmetic and the re-solve's Var ops round differently). We allow 1e-12 and 1e-6. Re-solving
// the pieces of a step between output times as steps of their own, as before #18, is off by 1e-6
// to 2e-5 here in float64 (the tolerance's error, not rounding) and fails every check below.
TEST_CASE("checkpointed gradients equal direct mode's to rounding, with several output times inside each step") {
    SUBCASE("MLP, dopri5, forward and backward in time, float64") {
        for (bool reversed : {false, true}) {
            CAPTURE(reversed);
            const Tensor<double> times = reversed ? Tensor<double>(xt::linspace<double>(1.5, 0.0, 31))
                                                  : Tensor<double>(xt::linspace<double>(0.0, 1.5, 31));
            OdeintOptions o = tight(Grad::direct);
            o.solver.rtol = o.solver.atol = 1e-6;
            OdeintStats s;
            const Gradients direct = run(Grad::direct, times, &o);
            o.grad = Grad::checkpointed;
            const Gradients checkpointed = run(Grad::checkpointed, times, &o, &s);
            // 30 output times in fewer than 10 steps: several inside each.
            CHECK(s.forward.accepted < 10);
            CHECK(s.backward.accepted == s.forward.accepted);  // the re-solves reproduced the steps
            CHECK(s.backward.rejected == 0);
            CHECK(checkpointed.loss == direct.loss);
            CHECK(max_rel_diff(checkpointed.y0, direct.y0) < 1e-12);
            CHECK(max_rel_diff(checkpointed.ts, direct.ts) < 1e-12);
            for (std::size_t p = 0; p < direct.params.size(); ++p)
                CHECK(max_rel_diff(checkpointed.params[p], direct.params[p]) < 1e-12);
        }
    }
    SUBCASE("y' = tanh(W y), L = Σ ys², dopri5 and fixed-step rk4 (dense output), float32 and float64") {
        for (Dtype dtype : {Dtype::float32, Dtype::float64}) {
            for (bool fixed : {false, true}) {
                CAPTURE(dtype_name(dtype));
                CAPTURE(fixed);
                auto go = [&](Grad mode, OdeintStats* stats) {
                    Var W = to_dtype(Var(Tensor<double>{{-0.5, 1.0}, {-1.0, -0.2}}), dtype).detach();
                    Var y0 = to_dtype(Var(Tensor<double>{1.0, 0.5}), dtype).detach();
                    W.set_requires_grad(true);
                    y0.set_requires_grad(true);
                    Var ts(Tensor<double>(xt::linspace<double>(0.0, 1.0, 21)), true);
                    OdeintOptions o;
                    o.solver = fixed ? Options{.method = Method::rk4, .step_size = 0.3} : Options{.rtol = 1e-5, .atol = 1e-6};
                    o.grad = mode;
                    const OdeintSolution sol =
                        odeint([&](const Var&, const Var& y) { return tanh(matmul(W, y)); }, y0, ts, {W}, o);
                    backward(sum(sol.ys * sol.ys));
                    *stats = sol.stats();
                    auto f64 = [](const Var& v) { return to_dtype(v, Dtype::float64); };
                    return std::vector<Var>{f64(W.grad()), f64(y0.grad()), f64(ts.grad())};
                };
                OdeintStats s_direct, s;
                const std::vector<Var> direct = go(Grad::direct, &s_direct);
                const std::vector<Var> checkpointed = go(Grad::checkpointed, &s);
                CHECK(s.forward.accepted <= 5);  // 20 output times
                CHECK(s.backward.accepted == s.forward.accepted);
                const double tol = dtype == Dtype::float32 ? 1e-6 : 1e-12;
                for (std::size_t k = 0; k < direct.size(); ++k) {
                    CAPTURE(k);
                    CHECK(max_abs(direct[k].value<double>()) > 0.1);  // not trivially small
                    CHECK(max_rel_diff(checkpointed[k], direct[k]) < tol);
                }
            }
        }
    }
}


