// Divergence-free dynamics f = Σₖ Sₖ ∇Hₖ: the trace is zero by VJPs and by finite differences,
// a CNF on them keeps log-densities, the flow map preserves volume, the Hamiltonian special
// case, derivatives at first and second order, gradient modes, float32, errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <xtensor/xview.hpp>

#include "odenet/autodiff.hpp"
#include "odenet/nn/cnf.hpp"
#include "odenet/nn/divergence_free.hpp"
#include "odenet/nn/init.hpp"
#include "odenet/testing/gradcheck.hpp"
#include "support/compare.hpp"

using namespace odenet;
using odenet::test::max_abs_diff;

namespace {

double max_abs(const Var& x) {
    const Var x64 = to_dtype(x, Dtype::float64);  // named: references into it follow
    double m = 0;
    for (double v : x64.value<double>()) m = std::max(m, std::abs(v));
    return m;
}


// H(t, z) = c · tanh(ConcatSquash(t, z)) summed to K outputs: a potential whose parameters the
// gradcheck can swap in (ConcatSquashMLP keeps its layers private).
struct Potential : nn::TimeLayer {
    nn::ConcatSquashLinear l1, l2;
    Potential(std::size_t dim, std::size_t k) : l1(dim, 6), l2(6, k) {
        register_module("l1", l1);
        register_module("l2", l2);
    }
    Var forward(const Var& t, const Var& z) override { return l2(t, tanh(l1(t, z))); }
};

// make_divergence_free with every parameter redrawn from N(0, 0.8²): the default initialisation
// starts near the identity (|f| ~ 1e-3, FFJORD's small start), too gentle to test with; here
// tanh is far from linear and the flow moves points by O(1).
std::shared_ptr<nn::DivergenceFree> random_divergence_free(std::size_t n, const std::vector<std::size_t>& hidden,
                                                           nn::DivergenceFreeOptions options, std::uint64_t seed) {
    manual_seed(seed);
    auto f = nn::make_divergence_free(n, hidden, options);
    for (Var& p : f->parameters()) nn::init::normal_(p, 0.0, 0.8);
    return f;
}

// The same field, not DivergenceFreeDynamics: the CNF must take the trace by VJPs.
struct TraceByVjp : nn::TimeLayer {
    std::shared_ptr<nn::DivergenceFree> inner;
    explicit TraceByVjp(std::shared_ptr<nn::DivergenceFree> f) : inner(std::move(f)) { register_module("inner", inner); }
    Var forward(const Var& t, const Var& z) override { return inner->forward(t, z); }
};

// ∂fᵢ/∂zᵢ per sample by one VJP per dimension (the general, slow way): (N, d).
Tensor<double> jacobian_diagonal(const Var& fz, const Var& z) {
    const std::size_t n = z.shape()[0], d = z.shape()[1];
    Tensor<double> diag = Tensor<double>::from_shape({n, d});
    for (std::size_t i = 0; i < d; ++i) {
        Tensor<double> e = xt::zeros<double>({n, d});
        for (std::size_t s = 0; s < n; ++s) e(s, i) = 1;
        const Var g = to_dtype(grad(fz, z, to_dtype(Var(e), z.dtype()), {.retain_graph = true}), Dtype::float64);
        for (std::size_t s = 0; s < n; ++s) diag(s, i) = g.value<double>()(s, i);
    }
    return diag;
}

nn::CNFOptions tight(ode::Grad grad = ode::Grad::adjoint, nn::Trace trace = nn::Trace::exact) {
    return {.end_time = 1.0, .learn_end_time = false, .trace = trace,
            .odeint = {.solver = {.rtol = 1e-10, .atol = 1e-10}, .grad = grad}};
}

// The flow map x -> z(T) of a CNF, without the trace's use: its z only.
Tensor<double> flow_map(nn::CNF& flow, const Tensor<double>& x) {
    NoGradGuard no_grad;
    return flow.transform(Var(x)).z.value<double>();
}

// det of a small square matrix by Gaussian elimination with partial pivoting.
double det(Tensor<double> a) {
    const std::size_t n = a.shape()[0];
    double d = 1;
    for (std::size_t c = 0; c < n; ++c) {
        std::size_t p = c;
        for (std::size_t r = c + 1; r < n; ++r)
            if (std::abs(a(r, c)) > std::abs(a(p, c))) p = r;
        if (p != c) {
            for (std::size_t k = 0; k < n; ++k) std::swap(a(p, k), a(c, k));
            d = -d;
        }
        d *= a(c, c);
        for (std::size_t r = c + 1; r < n; ++r) {
            const double m = a(r, c) / a(c, c);
            for (std::size_t k = c; k < n; ++k) a(r, k) -= m * a(c, k);
        }
    }
    return d;
}

// det ∂Φ/∂x of the flow map at x (1, d) by central differences of whole solves.
double flow_jacobian_det(nn::CNF& flow, const Tensor<double>& x, double eps) {
    const std::size_t d = x.shape()[1];
    Tensor<double> jac = Tensor<double>::from_shape({d, d});
    for (std::size_t j = 0; j < d; ++j) {
        Tensor<double> xp = x, xm = x;
        xp(0, j) += eps;
        xm(0, j) -= eps;
        const Tensor<double> zp = flow_map(flow, xp), zm = flow_map(flow, xm);
        for (std::size_t i = 0; i < d; ++i) jac(i, j) = (zp(0, i) - zm(0, i)) / (2 * eps);
    }
    return det(jac);
}

}  // namespace

TEST_CASE("DivergenceFree: the exact trace by VJPs is zero to rounding (n = 2, 3, 5; K = 1, 3)") {
    for (std::size_t n : {2, 3, 5})
        for (std::size_t k : {1, 3}) {
            CAPTURE(n);
            CAPTURE(k);
            auto f = random_divergence_free(n, {16, 16}, {.potentials = k}, 100 + 10 * n + k);
            const Var z(Tensor<double>(1.5 * randn<double>({9, n})), true);
            for (double t : {0.0, 0.6}) {
                const Var fz = f->forward(Var::scalar(t), z);
                const Tensor<double> diag = jacobian_diagonal(fz, z);
                double worst = 0, largest = 0;
                for (std::size_t s = 0; s < 9; ++s) {
                    double tr = 0, scale = 0;
                    for (std::size_t i = 0; i < n; ++i) {
                        tr += diag(s, i);
                        scale += std::abs(diag(s, i));
                    }
                    // Rounding: each ∂ᵢfᵢ is a sum of O(K n · 16²) products of O(1) terms that
                    // cancel among themselves as well, so |tr| / Σᵢ|∂ᵢfᵢ| is rounding magnified
                    // by that cancellation: 2.1e-13 at worst here (n = 5, K = 3). 1e-11 leaves
                    // room for other seeds; a symmetric part in S gives a ratio of O(1).
                    worst = std::max(worst, std::abs(tr) / scale);
                    largest = std::max(largest, scale);
                }
                CHECK(worst < 1e-11);
                // The diagonal itself is far from zero: the sum cancels, the terms do not vanish.
                CHECK(largest > 1e-2);
                // The CNF's own general path (nn::divergence) agrees.
                CHECK(max_abs(nn::divergence(fz, z, nn::Trace::exact, {}, false)) < 1e-11 * largest);
            }
        }
}

TEST_CASE("DivergenceFree: the trace by central differences of f is zero to the differences' error (n = 3)") {
    auto f = random_divergence_free(3, {16}, {.potentials = 2}, 7);
    const Tensor<double> z = 1.5 * randn<double>({5, 3});
    const double eps = 1e-4;
    NoGradGuard no_grad;
    Tensor<double> tr = xt::zeros<double>({5}), scale = xt::zeros<double>({5});
    for (std::size_t i = 0; i < 3; ++i) {
        Tensor<double> zp = z, zm = z;
        for (std::size_t s = 0; s < 5; ++s) {
            zp(s, i) += eps;
            zm(s, i) -= eps;
        }
        const Var fp = f->forward(Var::scalar(0.3), Var(zp)), fm = f->forward(Var::scalar(0.3), Var(zm));
        for (std::size_t s = 0; s < 5; ++s) {
            const double dii = (fp.value<double>()(s, i) - fm.value<double>()(s, i)) / (2 * eps);
            tr(s) += dii;
            scale(s) += std::abs(dii);
        }
    }
    for (std::size_t s = 0; s < 5; ++s) {
        // Central differences err by eps²/6 |f'''| ≈ 2e-9 plus 1e-16/eps ≈ 1e-12 per entry.
        CHECK(std::abs(tr(s)) < 1e-7);
        CHECK(scale(s) > 1e-2);
    }
}

TEST_CASE("DivergenceFree: the antisymmetric coupling and the NoGrad path") {
    manual_seed(8);
    auto f = nn::make_divergence_free(4, {8}, {.potentials = 2});
    const Var s = f->coupling();
    CHECK(s.shape() == Shape{2, 4, 4});
    CHECK(max_abs(s + transpose(s)) == 0.0);
    CHECK(max_abs(s) > 1e-2);
    const Var z(randn<double>({6, 4}));
    const Var recorded = f->forward(Var::scalar(0.2), z);
    CHECK(recorded.requires_grad());
    Var plain;
    {
        NoGradGuard no_grad;
        plain = f->forward(Var::scalar(0.2), z);
    }
    CHECK(!plain.requires_grad());
    CHECK(max_abs_diff(plain, recorded) == 0.0);
    // Checkpoint names: the coupling and the potential's layers.
    std::vector<std::string> names;
    for (const auto& [name, p] : f->named_parameters()) names.push_back(name);
    CHECK(std::find(names.begin(), names.end(), "weight") != names.end());
    CHECK(std::find(names.begin(), names.end(), "potential.net.0.layer.weight") != names.end());
    CHECK(std::find(names.begin(), names.end(), "potential.head.weight") != names.end());
    // Every parameter acts on f (no bias constant in z in the potential's last layer): grad
    // without allow_unused succeeds, and no gradient is zero.
    const std::vector<Var> g = grad({sum(recorded * recorded)}, f->parameters());
    for (std::size_t i = 0; i < g.size(); ++i) {
        CAPTURE(names[i]);
        CHECK(max_abs(g[i]) > 0.0);
    }
}

TEST_CASE("DivergenceFree in two dimensions is Hamiltonian: H = |z|²/2, S = J rotate the plane") {
    struct HalfSquare : nn::TimeLayer {
        Var forward(const Var& /*t*/, const Var& z) override { return sum(z * z, {1}, true) * 0.5; }
    };
    auto f = std::make_shared<nn::DivergenceFree>(std::make_shared<HalfSquare>(), 2);
    f->weight.mutable_value<double>() = Tensor<double>{{{0.0, 1.0}, {0.0, 0.0}}};  // S = [[0, 1], [−1, 0]]
    // dq/dt = ∂H/∂p = p, dp/dt = −∂H/∂q = −q: (q, p)(T) = (q cos T + p sin T, p cos T − q sin T).
    nn::CNF flow(f, 2, tight());
    const Tensor<double> x{{1.0, 0.0}, {0.3, -0.7}, {-2.0, 0.5}};
    const nn::FlowResult r = flow.transform(Var(x));
    Tensor<double> expected = Tensor<double>::from_shape({3, 2});
    for (std::size_t s = 0; s < 3; ++s) {
        expected(s, 0) = x(s, 0) * std::cos(1.0) + x(s, 1) * std::sin(1.0);
        expected(s, 1) = x(s, 1) * std::cos(1.0) - x(s, 0) * std::sin(1.0);
    }
    CHECK(max_abs_diff(r.z, Var(expected)) < 1e-8);  // dopri5 at 1e-10 over T = 1
    CHECK(max_abs(r.delta_logp) == 0.0);
}

TEST_CASE("a CNF on DivergenceFree: Δlogp is exactly 0 and log p(x) = log N(z(T)), whatever the trace option") {
    auto f = random_divergence_free(3, {16, 16}, {.potentials = 2}, 9);
    const Var x(randn<double>({12, 3}));
    for (nn::Trace trace : {nn::Trace::exact, nn::Trace::hutchinson}) {
        CAPTURE(nn::trace_name(trace));
        nn::CNF flow(f, 3, tight(ode::Grad::adjoint, trace));
        const nn::FlowResult r = flow.transform(x);
        CHECK(max_abs(r.delta_logp) == 0.0);
        CHECK(max_abs_diff(flow.log_prob(x), gaussian_log_density(r.z)) == 0.0);
        CHECK(max_abs_diff(r.z, x) > 1e-2);  // the flow moves points: Δ = 0 is not the identity's
        const nn::FlowResult back = flow.inverse(r.z);
        CHECK(max_abs(back.delta_logp) == 0.0);
        CHECK(max_abs_diff(back.z, x) < 1e-8);
    }

    SUBCASE("the trace forced through VJPs agrees: Δ is rounding, log p the same to solver tolerance") {
        nn::CNF closed(f, 3, tight()), by_vjp(std::make_shared<TraceByVjp>(f), 3, tight());
        const nn::FlowResult rc = closed.transform(x), rv = by_vjp.transform(x);
        CHECK(max_abs(rv.delta_logp) < 1e-12);  // ∫ of a trace that is 0 to 1e-15
        CHECK(max_abs_diff(rc.z, rv.z) < 1e-10);
        CHECK(closed.last_nfe() == by_vjp.last_nfe());  // same steps, cheaper evaluations
    }

    SUBCASE("with the Jacobian regulariser the VJP path is taken, and it still finds Δ = 0") {
        nn::CNFOptions o = tight();
        o.jacobian_weight = 0.1;
        nn::CNF closed(f, 3, o), by_vjp(std::make_shared<TraceByVjp>(f), 3, o);
        const nn::FlowResult rc = closed.transform(x), rv = by_vjp.transform(x);
        REQUIRE(rc.jacobian.defined());
        CHECK(max_abs(rc.jacobian) > 1e-3);  // ∫‖∂f/∂z‖² dt: only the VJPs can give it
        CHECK(max_abs_diff(rc.jacobian, rv.jacobian) == 0.0);
        CHECK(max_abs_diff(rc.delta_logp, rv.delta_logp) == 0.0);
        CHECK(max_abs(rc.delta_logp) < 1e-12);
    }
}

TEST_CASE("a user's DivergenceFreeDynamics (a rotation z Aᵀ, A antisymmetric) in a CNF: no trace, and the regulariser by VJPs") {
    struct Rotation : nn::DivergenceFreeDynamics {
        Var a{Tensor<double>{{0.0, 0.7, -0.2}, {-0.7, 0.0, 0.4}, {0.2, -0.4, 0.0}}};
        Rotation() { register_parameter("a", a); }
        Var forward(const Var& /*t*/, const Var& z) override { return gemm(z, a, false, true); }
    };
    const Var x(randn<double>({5, 3}));
    nn::CNF flow(std::make_shared<Rotation>(), 3, tight());
    const nn::FlowResult r = flow.transform(x);
    CHECK(max_abs(r.delta_logp) == 0.0);
    // e^{AT} is orthogonal: |z(T)| = |x| per point, while the points move.
    CHECK(max_abs_diff(sum(r.z * r.z, {1}), sum(x * x, {1})) < 1e-8);
    CHECK(max_abs_diff(r.z, x) > 0.1);
    // ∫‖∂f/∂z‖_F² dt = ‖A‖_F² T = 2 (0.7² + 0.2² + 0.4²) = 1.38 at T = 1, from the VJPs.
    nn::CNFOptions o = tight();
    o.jacobian_weight = 1.0;
    nn::CNF regularised(std::make_shared<Rotation>(), 3, o);
    const nn::FlowResult rr = regularised.transform(x);
    CHECK(max_abs_diff(rr.jacobian, Var(Tensor<double>(xt::ones<double>({5}) * 1.38))) < 1e-12);
    CHECK(max_abs(rr.delta_logp) < 1e-12);
}

TEST_CASE("DivergenceFree's flow map preserves volume: det ∂z(T)/∂x = 1 by finite differences of solves") {
    nn::CNFOptions o = tight();
    o.odeint.solver.rtol = o.odeint.solver.atol = 1e-12;
    nn::CNF flow(random_divergence_free(3, {16, 16}, {.potentials = 2}, 10), 3, o);
    // The control: the same check on general dynamics sees their volume change, exp(−Δ(T)).
    manual_seed(10);
    nn::CNF general(nn::make_toy_dynamics(3, {16, 16}), 3, o);
    const Tensor<double> xs = randn<double>({3, 3});
    for (std::size_t s = 0; s < 3; ++s) {
        const Tensor<double> x = xt::view(xs, xt::range(s, s + 1), xt::all());
        // Central differences at eps = 1e-4 err by eps²/6 |Φ'''| plus the solves' error (1e-12)
        // over eps, 1e-8 per Jacobian entry. The strongly curved field makes the first term the
        // larger: |det − 1| reached 1.9e-7 (the general dynamics, gentler, 9e-12), so 1e-6.
        const double eps = 1e-4;
        CHECK(std::abs(flow_jacobian_det(flow, x, eps) - 1.0) < 1e-6);
        const double log_det_general = std::log(flow_jacobian_det(general, x, eps));
        double delta = 0;
        {
            NoGradGuard no_grad;
            delta = general.transform(Var(x)).delta_logp.value<double>()(0);
        }
        CHECK(std::abs(log_det_general + delta) < 1e-6);
        CHECK(std::abs(log_det_general) > 1e-2);
    }
}

TEST_CASE("DivergenceFree: field passes gradcheck at first and second order (z, t, W, the potential)") {
    manual_seed(11);
    auto pot = std::make_shared<Potential>(3, 2);
    auto f = std::make_shared<nn::DivergenceFree>(pot, 3, nn::DivergenceFreeOptions{.potentials = 2});
    auto fn = [&](const std::vector<Var>& in) {
        f->weight = in[2];
        pot->l1.layer.weight = in[3];
        pot->l2.hyper_gate.weight = in[4];
        return f->forward(in[1], in[0]);
    };
    const std::vector<Var> inputs{Var(randn<double>({4, 3})), Var::scalar(0.4), f->weight.detach(),
                                  pot->l1.layer.weight.detach(), pot->l2.hyper_gate.weight.detach()};
    CHECK(testing::gradcheck(fn, inputs));
    CHECK(testing::gradgradcheck(fn, inputs));
}

TEST_CASE("a CNF on DivergenceFree: adjoint and checkpointed gradients equal direct backprop") {
    auto f = random_divergence_free(2, {8, 8}, {}, 12);
    const Var x(randn<double>({6, 2}));
    auto gradients = [&](ode::Grad mode) {
        nn::CNF flow(f, 2, tight(mode));
        return grad({-mean(flow.log_prob(x))}, f->parameters());
    };
    const std::vector<Var> direct = gradients(ode::Grad::direct);
    double largest = 0;
    for (const Var& g : direct) largest = std::max(largest, max_abs(g));
    CHECK(largest > 1e-3);
    for (ode::Grad mode : {ode::Grad::adjoint, ode::Grad::checkpointed}) {
        CAPTURE(ode::grad_name(mode));
        const std::vector<Var> g = gradients(mode);
        REQUIRE(g.size() == direct.size());
        // Solves at 1e-10: the continuous and the discrete adjoint differ by O(tolerance).
        for (std::size_t i = 0; i < g.size(); ++i) CHECK(max_abs_diff(g[i], direct[i]) < 1e-7);
    }
}

TEST_CASE("DivergenceFree: float32 end to end (trace, a CNF log-density and its gradient)") {
    manual_seed(13);
    auto f = nn::make_divergence_free(3, {8, 8}, {.potentials = 2, .dtype = Dtype::float32});
    const Var z(to_dtype(Var(randn<double>({5, 3})), Dtype::float32).value(), true);
    const Var fz = f->forward(Var::scalar(0.1), z);
    CHECK(fz.dtype() == Dtype::float32);
    const Tensor<double> diag = jacobian_diagonal(fz, z);
    for (std::size_t s = 0; s < 5; ++s) {
        const double tr = diag(s, 0) + diag(s, 1) + diag(s, 2);
        const double scale = std::abs(diag(s, 0)) + std::abs(diag(s, 1)) + std::abs(diag(s, 2));
        CHECK(std::abs(tr) < 1e-5 * scale);  // float32 rounding, 6e-8 per op, over a few hundred ops
    }
    nn::CNF flow(f, 3, {.end_time = 1.0, .learn_end_time = false});
    const Var x = to_dtype(Var(randn<double>({8, 3})), Dtype::float32);
    const nn::FlowResult r = flow.transform(x);
    CHECK(r.delta_logp.dtype() == Dtype::float32);
    CHECK(max_abs(r.delta_logp) == 0.0);
    const Var lp = flow.log_prob(x);
    CHECK(lp.dtype() == Dtype::float32);
    for (const Var& g : grad({mean(lp)}, f->parameters())) {
        CHECK(g.dtype() == Dtype::float32);
        for (float v : g.value<float>()) CHECK(std::isfinite(v));
    }
}

TEST_CASE("DivergenceFree: bad sizes and shapes are refused by name") {
    auto pot = std::make_shared<Potential>(3, 1);
    CHECK_THROWS_WITH_AS(nn::DivergenceFree(nullptr, 3), doctest::Contains("DivergenceFree"), ValueError);
    CHECK_THROWS_WITH_AS(nn::DivergenceFree(pot, 1), doctest::Contains("dim >= 2"), ValueError);
    CHECK_THROWS_WITH_AS(nn::DivergenceFree(pot, 3, {.potentials = 0}), doctest::Contains("DivergenceFree"), ValueError);
    CHECK_THROWS_WITH_AS(nn::make_divergence_free(1, {4}), doctest::Contains("DivergenceFree"), ValueError);
    CHECK_THROWS_WITH_AS(nn::make_divergence_free(0, {4}), doctest::Contains("DivergenceFree"), ValueError);
    nn::DivergenceFree f(pot, 3);
    CHECK_THROWS_WITH_AS(f.forward(Var::scalar(0.0), zeros({4, 2})), doctest::Contains("DivergenceFree"), ShapeError);
    CHECK_THROWS_WITH_AS(f.forward(Var::scalar(0.0), zeros({4})), doctest::Contains("(N, 3)"), ShapeError);
    CHECK_THROWS_WITH_AS(f.forward(Var::scalar(0.0), zeros({4, 3}, Dtype::float32)), doctest::Contains("DivergenceFree"),
                         DtypeError);
    // A potential with K = 2 outputs where the layer expects 1.
    nn::DivergenceFree wrong_k(std::make_shared<Potential>(3, 2), 3);
    CHECK_THROWS_WITH_AS(wrong_k.forward(Var::scalar(0.0), zeros({4, 3})), doctest::Contains("(N, K) = (4, 1)"), ShapeError);
    NoGradGuard no_grad;  // the same errors from the nested scope
    CHECK_THROWS_WITH_AS(wrong_k.forward(Var::scalar(0.0), zeros({4, 3})), doctest::Contains("DivergenceFree"), ShapeError);
}
