// odeint with the implicit methods (ode/implicit.hpp): the engine's Jacobian against the analytic
// one, block-diagonal against full, and the adjoint through the implicit method (Note [The adjoint
// through an implicit method], odeint_implicit.cpp) against finite differences on Robertson's
// kinetics; Grad::direct refuses.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "odenet/autodiff.hpp"
#include "odenet/odeint/odeint.hpp"

using namespace odenet;
using namespace odenet::ode;

namespace {

// Robertson (1966), rates k = exp(log_k) per sample: y is (N, 3), log_k is (3,).
Var robertson(const Var& log_k, const Var& y) {
    const Var k = exp(log_k);
    const Var y1 = slice(y, 1, 0, 1), y2 = slice(y, 1, 1, 2), y3 = slice(y, 1, 2, 3);
    const Var k1 = slice(k, 0, 0, 1), k2 = slice(k, 0, 1, 2), k3 = slice(k, 0, 2, 3);
    const Var r1 = k1 * y1, r2 = k2 * y2 * y2, r3 = k3 * y2 * y3;
    return concat({r3 - r1, r1 - r3 - r2, r2}, 1);
}

Tensor<double> true_log_k() { return Tensor<double>({std::log(0.04), std::log(3e7), std::log(1e4)}); }

Tensor<double> y0_value(std::size_t n) {
    Tensor<double> y = Tensor<double>::from_shape({n, 3});
    for (std::size_t b = 0; b < n; ++b) {
        y(b, 0) = 1.0 - 0.1 * double(b);
        y(b, 1) = 0.0;
        y(b, 2) = 0.1 * double(b);
    }
    return y;
}

const Tensor<double> kTimes({0.0, 1e-3, 0.1, 1.0, 10.0});

// A loss that weighs y2 (about 1e-5) like the others.
Var loss_of(const Var& ys) {
    Tensor<double> w = Tensor<double>::from_shape(ys.shape());
    for (std::size_t i = 0; i < w.size(); ++i) w.data()[i] = (i % 3 == 1 ? 1e4 : 1.0) * std::cos(0.37 * double(i));
    return sum(ys * Var(w));
}

OdeintOptions options(Method m, Grad g, double rtol, std::size_t blocks = 1) {
    OdeintOptions o;
    o.solver = {.method = m, .rtol = rtol, .atol = rtol * 1e-6, .max_steps = 200000, .jacobian_blocks = blocks,
                .autonomous = true};
    o.grad = g;
    return o;
}

double loss_at(Method m, const Tensor<double>& log_k, const Tensor<double>& y0) {
    NoGradGuard no_grad;
    const Var lk(log_k);
    const Var ys = odeint([&](const Var&, const Var& y) { return robertson(lk, y); }, Var(y0), Var(kTimes), {},
                          options(m, Grad::adjoint, 1e-11));
    return loss_of(ys).item();
}

}  // namespace

TEST_CASE("jacobian: the engine's equals Robertson's analytic Jacobian; blocks equal the full matrix") {
    const Var lk(true_log_k());
    const Tensor<double> y0 = Tensor<double>({{0.9, 2e-5, 0.1}, {0.5, 1e-5, 0.5}});
    const Tensor<double> full = jacobian([&](const Var& y) { return robertson(lk, y); }, Var(y0));
    const Tensor<double> blocks = jacobian([&](const Var& y) { return robertson(lk, y); }, Var(y0), 2);
    REQUIRE(full.shape() == Shape{1, 6, 6});
    REQUIRE(blocks.shape() == Shape{2, 3, 3});
    for (std::size_t b = 0; b < 2; ++b) {
        const double y2 = y0(b, 1), y3 = y0(b, 2);
        const double J[3][3] = {{-0.04, 1e4 * y3, 1e4 * y2},
                                {0.04, -1e4 * y3 - 6e7 * y2, -1e4 * y2},
                                {0.0, 6e7 * y2, 0.0}};
        for (std::size_t i = 0; i < 3; ++i)
            for (std::size_t j = 0; j < 3; ++j) {
                CAPTURE(b);
                CAPTURE(i);
                CAPTURE(j);
                CHECK(blocks(b, i, j) == doctest::Approx(J[i][j]).epsilon(1e-12).scale(1e-12));
                CHECK(full(0, 3 * b + i, 3 * b + j) == blocks(b, i, j));
                CHECK(full(0, 3 * b + i, 3 * (1 - b) + j) == 0.0);  // the samples do not interact
            }
    }
}

TEST_CASE("odeint through implicit methods: adjoint and checkpointed gradients match finite differences") {
    // Central differences of the loss at rtol 1e-11 (the loss is smooth in log k: truncation
    // eps² ~ 1e-8 relative, solver noise 1e-11 / eps = 1e-7): 1e-5 relative catches a wrong
    // gradient, which for a missing term is off by O(1).
    const double eps = 1e-4;
    std::vector<double> fd(3);
    for (std::size_t i = 0; i < 3; ++i) {
        Tensor<double> plus = true_log_k(), minus = true_log_k();
        plus.data()[i] += eps;
        minus.data()[i] -= eps;
        fd[i] = (loss_at(Method::rodas4, plus, y0_value(2)) - loss_at(Method::rodas4, minus, y0_value(2))) / (2 * eps);
    }
    // y2 starts at 0 on a scale of 3.6e-5 and enters quadratically: its step is 1e-9.
    std::vector<double> fd_y0(6);
    for (std::size_t i = 0; i < 6; ++i) {
        const double e = i % 3 == 1 ? 1e-9 : 1e-6;
        Tensor<double> plus = y0_value(2), minus = y0_value(2);
        plus.data()[i] += e;
        minus.data()[i] -= e;
        fd_y0[i] = (loss_at(Method::rodas4, true_log_k(), plus) - loss_at(Method::rodas4, true_log_k(), minus)) / (2 * e);
    }
    struct Case {
        Method m;
        Grad g;
        double rtol, tol;
        std::size_t blocks;
    };
    for (const Case c : {Case{Method::rodas4, Grad::adjoint, 1e-10, 1e-5, 1}, Case{Method::rodas4, Grad::checkpointed, 1e-10, 1e-5, 2},
                         Case{Method::rosenbrock23, Grad::adjoint, 1e-8, 1e-3, 2},
                         Case{Method::trbdf2, Grad::adjoint, 1e-8, 1e-3, 1}}) {
        CAPTURE(std::string(method_name(c.m)));
        CAPTURE(std::string(grad_name(c.g)));
        Var lk(true_log_k(), true), y0(y0_value(2), true);
        const OdeintSolution sol = odeint([&](const Var&, const Var& y) { return robertson(lk, y); }, y0, Var(kTimes),
                                          {lk}, options(c.m, c.g, c.rtol, c.blocks));
        backward(loss_of(sol.ys));
        const SolveStats back = sol.backward();
        INFO("forward nfe ", sol.forward.nfe, " njac ", sol.forward.njac, " nlu ", sol.forward.nlu, "; backward nfe ",
             back.nfe, " njac ", back.njac, " nlu ", back.nlu);
        CHECK(sol.forward.njac > 0);
        CHECK(back.njac > 0);
        for (std::size_t i = 0; i < 3; ++i) {
            CAPTURE(i);
            CHECK(lk.grad().value<double>().data()[i] == doctest::Approx(fd[i]).epsilon(c.tol));
        }
        for (std::size_t i = 0; i < 6; ++i) {
            CAPTURE(i);
            CHECK(y0.grad().value<double>().data()[i] == doctest::Approx(fd_y0[i]).epsilon(c.tol).scale(1.0));
        }
    }
}

TEST_CASE("odeint through implicit methods: float32 runs end to end and agrees with float64") {
    Var lk64(true_log_k(), true), lk32(to_dtype(Var(true_log_k()), Dtype::float32).value(), true);
    auto run = [&](Var& lk, Dtype dt) {
        Var y0 = to_dtype(Var(y0_value(1)), dt);
        Var ts(kTimes);
        const OdeintSolution sol = odeint([&](const Var&, const Var& y) { return robertson(lk, y); }, y0, ts, {lk},
                                          options(Method::rodas4, Grad::adjoint, 1e-5));
        backward(loss_of(to_dtype(sol.ys, Dtype::float64)));
        return to_dtype(lk.grad(), Dtype::float64).value<double>();
    };
    const Tensor<double> g64 = run(lk64, Dtype::float64), g32 = run(lk32, Dtype::float32);
    for (std::size_t i = 0; i < 3; ++i) CHECK(g32.data()[i] == doctest::Approx(g64.data()[i]).epsilon(1e-2));
}

TEST_CASE("odeint through implicit methods: Grad::direct refuses, naming the method and the modes that work") {
    Var lk(true_log_k(), true);
    try {
        odeint([&](const Var&, const Var& y) { return robertson(lk, y); }, Var(y0_value(1)), Var(kTimes), {lk},
               options(Method::rodas4, Grad::direct, 1e-6));
        FAIL("no error");
    } catch (const ValueError& e) {
        const std::string what = e.what();
        CHECK(what.find("rodas4") != std::string::npos);
        CHECK(what.find("Grad::adjoint") != std::string::npos);
    }
}

TEST_CASE("odeint through implicit methods: jump times are hopped forwards and backwards; gradients match differences") {
    // dy/dt = −r(t) (y − cos t) − sin t with r = p0 before t = 1 and p1 after: the adjoint's a′
    // jumps at 1 too, and the backward solve hops it as the forward does.
    SolveStats backward_stats;
    auto run = [&](const Tensor<double>& p_value, Grad g, bool want_grad, Tensor<double>* grad_out,
                   std::vector<double> jumps = {1.0}) {
        Var p(p_value, want_grad);
        auto f = [&](const Var& t, const Var& y) {
            const Var r = t.item() < 1.0 ? slice(p, 0, 0, 1) : slice(p, 0, 1, 2);
            return -r * (y - cos(t)) - sin(t);
        };
        OdeintOptions o;
        o.solver = {.method = Method::rodas4, .rtol = 1e-10, .atol = 1e-12, .jump_times = jumps};
        o.grad = g;
        const OdeintSolution sol = odeint(f, Var(Tensor<double>({2.0})), Var(Tensor<double>({0.0, 0.7, 1.5})),
                                          want_grad ? std::vector<Var>{p} : std::vector<Var>{}, o);
        Tensor<double> w = Tensor<double>::from_shape({3, 1});
        w(0, 0) = 0.0, w(1, 0) = 1.0, w(2, 0) = 3.0;
        const Var loss = sum(sol.ys * Var(w));
        if (want_grad) {
            backward(loss);
            *grad_out = p.grad().value<double>();
            backward_stats = sol.backward();
        }
        return loss.item();
    };
    const Tensor<double> p0({1.0, 50.0});
    for (Grad g : {Grad::adjoint, Grad::checkpointed}) {
        CAPTURE(std::string(grad_name(g)));
        Tensor<double> grad, unused;
        run(p0, g, true, &unused, {});
        const SolveStats across = backward_stats;
        run(p0, g, true, &grad);
        // The backward solve hops the jump too: fewer rejected steps than stepping across it.
        INFO("backward rejected: hopping ", backward_stats.rejected, ", stepping across ", across.rejected);
        CHECK(backward_stats.rejected < across.rejected);
        for (std::size_t i = 0; i < 2; ++i) {
            Tensor<double> plus = p0, minus = p0;
            plus.data()[i] += 1e-5;
            minus.data()[i] -= 1e-5;
            const double fd = (run(plus, g, false, nullptr) - run(minus, g, false, nullptr)) / 2e-5;
            CAPTURE(i);
            CHECK(grad.data()[i] == doctest::Approx(fd).epsilon(1e-5));
        }
    }
}

TEST_CASE("jacobian: blocks that do not divide x, and an f that changes the size, are ShapeErrors") {
    const Var x(Tensor<double>({1.0, 2.0, 3.0}));
    CHECK_THROWS_AS(jacobian([](const Var& v) { return v * v; }, x, 2), ShapeError);
    CHECK_THROWS_AS(jacobian([](const Var& v) { return v * v; }, x, 0), ShapeError);
    CHECK_THROWS_AS(jacobian([](const Var& v) { return slice(v, 0, 0, 2); }, x), ShapeError);
    // f independent of x: a zero Jacobian, not an error.
    const Tensor<double> J = jacobian([](const Var&) { return Var(Tensor<double>({4.0, 5.0, 6.0})); }, x);
    for (double v : J) CHECK(v == 0.0);
}
