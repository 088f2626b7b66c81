// Planar flows: the planar NF of Rezende & Mohamed (2015) and the hypernetwork planar CNF of
// Chen et al. (2018): log-determinants and traces against autodiff, the invertibility
// constraint, inverses, normalisation on a grid, derivatives at first and second order, errors.
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

#include "odenet/autodiff.hpp"
#include "odenet/nn/cnf.hpp"
#include "odenet/nn/hyper_planar.hpp"
#include "odenet/nn/init.hpp"
#include "odenet/nn/odeint.hpp"
#include "odenet/nn/planar_flow.hpp"
#include "odenet/testing/gradcheck.hpp"
#include "support/compare.hpp"

using namespace odenet;
using odenet::test::max_abs_diff;

namespace {


// log|det ∂T/∂x| of a 2-D map per sample, the Jacobian's rows by autodiff (one VJP per output).
Tensor<double> log_abs_det_by_autodiff(const std::function<Var(const Var&)>& map, const Tensor<double>& x) {
    const std::size_t n = x.shape()[0];
    Tensor<double> out = Tensor<double>::from_shape({n});
    Var xv(x, true);
    Var y = map(xv);
    std::array<Tensor<double>, 2> rows;
    for (std::size_t i = 0; i < 2; ++i) {
        Tensor<double> e = xt::zeros<double>({n, std::size_t(2)});
        for (std::size_t s = 0; s < n; ++s) e(s, i) = 1;
        rows[i] = grad(y, xv, Var(e), {.retain_graph = true}).value<double>();
    }
    for (std::size_t s = 0; s < n; ++s)
        out(s) = std::log(std::abs(rows[0](s, 0) * rows[1](s, 1) - rows[0](s, 1) * rows[1](s, 0)));
    return out;
}

// A grid of side `count` on [−half, half]², as (count², 2), and the area of one cell.
std::pair<Tensor<double>, double> grid(std::size_t count, double half) {
    Tensor<double> g = Tensor<double>::from_shape({count * count, 2});
    const double h = 2 * half / double(count - 1);
    for (std::size_t i = 0; i < count; ++i)
        for (std::size_t j = 0; j < count; ++j) {
            g(i * count + j, 0) = -half + h * double(i);
            g(i * count + j, 1) = -half + h * double(j);
        }
    return {g, h * h};
}

double integral(const Var& log_density, double cell) {
    double s = 0;
    const Var values = to_dtype(log_density, Dtype::float64);  // named: the range must outlive the loop
    for (double v : values.value<double>()) s += std::exp(v) * cell;
    return s;
}

// HyperPlanar whose trace the CNF must compute by VJPs: the same field, not DynamicsWithTrace.
struct TraceByVjp : nn::TimeLayer {
    std::shared_ptr<nn::HyperPlanar> inner;
    explicit TraceByVjp(std::shared_ptr<nn::HyperPlanar> f) : inner(std::move(f)) { register_module("inner", inner); }
    Var forward(const Var& t, const Var& z) override { return inner->forward(t, z); }
};

// Parameters of the planar units large enough that tanh is far from linear.
std::shared_ptr<nn::HyperPlanar> random_hyper_planar(std::size_t dim, std::size_t width, std::uint64_t seed) {
    manual_seed(seed);
    return std::make_shared<nn::HyperPlanar>(dim, nn::HyperPlanarOptions{.width = width, .hidden = 8});
}

}  // namespace

TEST_CASE("PlanarFlow: log-determinant equals log|det J| of the map by autodiff (float64)") {
    manual_seed(3);
    nn::PlanarFlow flow(2, 5, Dtype::float64, /*init_scale=*/1.0);
    nn::init::normal_(flow.b, 0.0, 0.5);
    const Tensor<double> x = randn<double>({7, 2});
    const Tensor<double> expected = log_abs_det_by_autodiff([&](const Var& v) { return flow.forward(v).z; }, x);
    const Var ld = flow.forward(Var(x)).log_det;
    CHECK(max_abs_diff(ld, Var(expected)) < 1e-12);
}

TEST_CASE("PlanarFlow: the constraint keeps wᵀû >= −1 for any u, and the layer stays invertible") {
    manual_seed(4);
    nn::PlanarFlow flow(2, 6, Dtype::float64, 1.0);
    // Rows of u pointing against w with wᵀu from −50 to −0.5, where the free u would fold the plane.
    auto& u = flow.u.mutable_value<double>();
    const auto& w = flow.w.value<double>();
    for (std::size_t k = 0; k < 6; ++k) {
        const double n2 = w(k, 0) * w(k, 0) + w(k, 1) * w(k, 1);
        const double target = -50.0 / double(1 + 10 * k) - 0.5;
        u(k, 0) = target * w(k, 0) / n2;
        u(k, 1) = target * w(k, 1) / n2;
    }
    const Var uh = flow.u_hat();
    for (std::size_t k = 0; k < 6; ++k) {
        const double wu = w(k, 0) * uh.value<double>()(k, 0) + w(k, 1) * uh.value<double>()(k, 1);
        // To rounding: at k = 0 softplus(−50.5) ≈ 1e-22 is below an ulp of 1, and wᵀû is −1 computed
        // as a sum of two products of O(50) terms, so its rounding is a few ulps of 50 (the sanitizer
        // build rounded it below −1).
        CHECK(wu >= -1.0 - 1e-12);
        CHECK(wu == doctest::Approx(std::log1p(std::exp(-50.0 / double(1 + 10 * k) - 0.5)) - 1.0).epsilon(1e-12));
    }
    const Tensor<double> x = randn<double>({50, 2});
    const auto [y, ld] = flow.forward(Var(x));
    // At wᵀû = −1 + 2e-22 a layer's slope along w is ~0 at s = 0: inverting it there amplifies
    // rounding, so x comes back to 1e-8 (7.8e-9 seen) while the residual T(T⁻¹(y)) − y stays at
    // rounding level.
    const Var back = flow.inverse(y);
    CHECK(max_abs_diff(flow.forward(back).z, y) < 1e-12);
    CHECK(max_abs_diff(back, Var(x)) < 1e-7);
    for (double v : ld.value<double>()) CHECK(std::isfinite(v));
}

TEST_CASE("PlanarFlow: inverse(forward(x)) = x in float64 and float32") {
    manual_seed(5);
    for (Dtype dtype : {Dtype::float64, Dtype::float32}) {
        nn::PlanarFlow flow(3, 32, dtype, 0.7);
        const Var x = to_dtype(Var(randn<double>({40, 3})), dtype);
        const Var y = flow.forward(x).z;
        const Var back = flow.inverse(y);
        CHECK(back.dtype() == dtype);
        // The preimage found maps back onto y to rounding: 32 layers of float32 rounding, ~1e-6.
        CHECK(max_abs_diff(flow.forward(back).z, y) < (dtype == Dtype::float64 ? 1e-13 : 1e-5));
        // x itself comes back less exactly in float32: y's rounding error is amplified by the
        // inverse's conditioning, 1 / (1 + (1 − h²) wᵀû) per layer (1.3e-4 seen with -march=native off).
        CHECK(max_abs_diff(back, x) < (dtype == Dtype::float64 ? 1e-12 : 1e-3));
    }
}

TEST_CASE("PlanarFlow: the density T#N(0, I) integrates to 1 on a grid (within 1%)") {
    manual_seed(6);
    nn::PlanarFlow flow(2, 8, Dtype::float64, 1.0);
    const auto [points, cell] = grid(241, 9.0);
    NoGradGuard no_grad;
    const Var z = flow.inverse(Var(points));
    const Var log_q = gaussian_log_density(z) - flow.forward(z).log_det;
    CHECK(integral(log_q, cell) == doctest::Approx(1.0).epsilon(0.01));
}

TEST_CASE("PlanarFlow: first and second derivatives in x and every parameter pass gradcheck") {
    manual_seed(7);
    nn::PlanarFlow flow(2, 3, Dtype::float64, 0.8);
    const Tensor<double> x = randn<double>({4, 2});
    auto f = [&](const std::vector<Var>& in) {
        flow.u = in[1];
        flow.w = in[2];
        flow.b = in[3];
        const auto [z, ld] = flow.forward(in[0]);
        return concat({z, reshape(ld, {4, 1})}, 1);
    };
    const std::vector<Var> inputs{Var(x), flow.u.detach(), flow.w.detach(), Var(Tensor<double>{0.3, -0.2, 0.1})};
    CHECK(testing::gradcheck(f, inputs));
    CHECK(testing::gradgradcheck(f, inputs));
}

TEST_CASE("PlanarFlow: bad sizes, shapes and dtypes are refused by name") {
    CHECK_THROWS_WITH_AS(nn::PlanarFlow(0, 2), doctest::Contains("PlanarFlow"), ValueError);
    CHECK_THROWS_WITH_AS(nn::PlanarFlow(2, 0), doctest::Contains("layers"), ValueError);
    CHECK_THROWS_WITH_AS(nn::PlanarFlow(2, 2, Dtype::float64, -1.0), doctest::Contains("init_scale"), ValueError);
    nn::PlanarFlow flow(2, 2);
    CHECK_THROWS_WITH_AS(flow.forward(zeros({3, 3})), doctest::Contains("(N, 2)"), ShapeError);
    CHECK_THROWS_WITH_AS(flow.inverse(zeros({3})), doctest::Contains("PlanarFlow::inverse"), ShapeError);
    CHECK_THROWS_AS(flow.inverse(zeros({3, 2}, Dtype::float32)), DtypeError);
}

TEST_CASE("HyperPlanar: the closed-form trace equals the exact trace by VJPs (float64)") {
    for (std::size_t dim : {1, 2, 5}) {
        auto f = random_hyper_planar(dim, 7, 10 + dim);
        const Var z(randn<double>({9, dim}), true);
        for (double t : {0.0, 0.37, 1.0}) {
            const nn::FieldAndTrace ft = f->forward_with_trace(Var::scalar(t), z);
            const Var by_vjp = nn::divergence(ft.field, z, nn::Trace::exact, {}, false);
            CHECK(max_abs_diff(ft.trace, by_vjp) < 1e-12);
            CHECK(max_abs_diff(ft.field, f->forward(Var::scalar(t), z)) == 0.0);
        }
    }
}

TEST_CASE("HyperPlanar: field and trace pass gradcheck at first and second order (z, t and the hypernetwork)") {
    auto f = random_hyper_planar(2, 3, 21);
    auto fn = [&](const std::vector<Var>& in) {
        f->time_out.weight = in[2];
        f->time_in.bias = in[3];
        const nn::FieldAndTrace ft = f->forward_with_trace(in[1], in[0]);
        return concat({ft.field, ft.trace}, 1);
    };
    const std::vector<Var> inputs{Var(randn<double>({4, 2})), Var::scalar(0.4), f->time_out.weight.detach(),
                                  f->time_in.bias.detach()};
    CHECK(testing::gradcheck(fn, inputs));
    CHECK(testing::gradgradcheck(fn, inputs));
}

TEST_CASE("HyperPlanar in a CNF: the closed form gives the VJP trace's log-density and adjoint gradients") {
    auto f = random_hyper_planar(2, 6, 31);
    auto by_vjp = std::make_shared<TraceByVjp>(f);
    const nn::CNFOptions options{.end_time = 1.0, .learn_end_time = false,
                                 .odeint = {.solver = {.rtol = 1e-8, .atol = 1e-8}, .grad = ode::Grad::adjoint}};
    nn::CNF closed(f, 2, options), vjp(by_vjp, 2, options);
    const Var x(randn<double>({16, 2}));
    const Var lp_closed = closed.log_prob(x), lp_vjp = vjp.log_prob(x);
    CHECK(max_abs_diff(lp_closed, lp_vjp) < 1e-10);
    const auto params = f->parameters();
    const std::vector<Var> g_closed = grad({mean(lp_closed)}, params), g_vjp = grad({mean(lp_vjp)}, params);
    for (std::size_t i = 0; i < params.size(); ++i) CHECK(max_abs_diff(g_closed[i], g_vjp[i]) < 1e-8);
    // The same steps: the closed form changes what an evaluation costs, not how many there are.
    CHECK(closed.last_nfe() == vjp.last_nfe());
}

TEST_CASE("HyperPlanar in a CNF: the density of a random planar CNF integrates to 1 on a grid (within 1%)") {
    auto f = random_hyper_planar(2, 8, 41);
    nn::CNF flow(f, 2, {.end_time = 1.0, .learn_end_time = false, .odeint = {.solver = {.rtol = 1e-7, .atol = 1e-7}}});
    const auto [points, cell] = grid(201, 8.0);
    NoGradGuard no_grad;
    const Var lp = flow.log_prob(Var(points));
    CHECK(integral(lp, cell) == doctest::Approx(1.0).epsilon(0.01));
}

TEST_CASE("HyperPlanar: float32 end to end (a CNF log-density and its gradient)") {
    manual_seed(51);
    auto f = std::make_shared<nn::HyperPlanar>(2, nn::HyperPlanarOptions{.width = 4, .hidden = 8, .dtype = Dtype::float32});
    nn::CNF flow(f, 2, {.end_time = 1.0, .learn_end_time = false});
    const Var lp = flow.log_prob(to_dtype(Var(randn<double>({8, 2})), Dtype::float32));
    CHECK(lp.dtype() == Dtype::float32);
    const std::vector<Var> g = grad({mean(lp)}, f->parameters());
    for (const Var& gi : g) {
        CHECK(gi.dtype() == Dtype::float32);
        for (float v : gi.value<float>()) CHECK(std::isfinite(v));
    }
}

TEST_CASE("HyperPlanar: sizes of 0 and states of the wrong width are refused by name") {
    CHECK_THROWS_WITH_AS(nn::HyperPlanar(0), doctest::Contains("HyperPlanar"), ValueError);
    CHECK_THROWS_WITH_AS(nn::HyperPlanar(2, {.width = 0}), doctest::Contains("width 0"), ValueError);
    nn::HyperPlanar f(2);
    CHECK_THROWS_WITH_AS(f.forward(Var::scalar(0.0), zeros({3, 4})), doctest::Contains("(N, 2)"), ShapeError);
}

TEST_CASE("HyperPlanar as general dynamics: nn::odeint in 3-D, adjoint and checkpointed gradients equal direct backprop") {
    auto f = random_hyper_planar(3, 5, 61);
    const Var x(randn<double>({6, 3}));
    const Var ts(Tensor<double>{0.0, 0.5, 1.0});
    auto gradients = [&](ode::Grad mode) {
        const Var ys = nn::odeint(f, x, ts, {.solver = {.rtol = 1e-10, .atol = 1e-10}, .grad = mode}).ys;
        return grad({sum(ys * ys)}, f->parameters());
    };
    const std::vector<Var> direct = gradients(ode::Grad::direct);
    for (ode::Grad mode : {ode::Grad::adjoint, ode::Grad::checkpointed}) {
        const std::vector<Var> g = gradients(mode);
        for (std::size_t i = 0; i < g.size(); ++i) CHECK(max_abs_diff(g[i], direct[i]) < 1e-7);
    }
}
