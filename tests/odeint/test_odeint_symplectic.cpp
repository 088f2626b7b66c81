// odeint with the symplectic methods (ode/symplectic.hpp): Grad::direct records every half-step
// and gives the exact gradient of the discrete leapfrog / yoshida4 map; the adjoint and
// checkpointed modes refuse them with a ValueError naming the method and the mode.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "odenet/autodiff.hpp"
#include "odenet/ode/solve.hpp"
#include "odenet/odeint/odeint.hpp"

using namespace odenet;
using namespace odenet::ode;

namespace {

// Three oscillators with a (2, 3) state, q = row 0, p = row 1: dy/dt = B y with
// B = [[0, 1/m], [-k, 0]], H = p^2 / (2m) + k q^2 / 2, separable; B is the trainable parameter.
Tensor<double> b_value() { return Tensor<double>({{0.0, 0.8}, {-1.3, 0.0}}); }
Tensor<double> y0_value() { return Tensor<double>({{1.0, 0.0, -0.5}, {0.0, 1.0, 0.8}}); }
// Fixed loss weights over the (len(ts), 2, 3) output.
Tensor<double> loss_weights() {
    Tensor<double> w = Tensor<double>::from_shape({3, 2, 3});
    for (std::size_t i = 0; i < w.size(); ++i) w.data()[i] = std::cos(0.7 * static_cast<double>(i) + 0.3);
    return w;
}

OdeintOptions opts(Method m, Grad g) {
    OdeintOptions o;
    o.solver = {.method = m, .step_size = 0.1};
    o.grad = g;
    return o;
}

double loss_value(Method m, const Tensor<double>& B, const Tensor<double>& y0) {
    NoGradGuard no_grad;
    const Var b(B);
    const Var ys = odeint([&](const Var&, const Var& y) { return matmul(b, y); }, Var(y0),
                          Var(Tensor<double>({0.0, 0.55, 1.0})), {}, opts(m, Grad::direct));
    return sum(ys * Var(loss_weights())).item();
}

}  // namespace

TEST_CASE("odeint, Grad::direct: symplectic solves match solve() and finite differences") {
    for (Method m : symplectic_methods()) {
        CAPTURE(std::string(method_name(m)));
        Var b(b_value(), true), y0(y0_value(), true);
        const Var ts(Tensor<double>({0.0, 0.55, 1.0}));
        const auto f = [&](const Var&, const Var& y) { return matmul(b, y); };
        const OdeintSolution sol = odeint(f, y0, ts, {b}, opts(m, Grad::direct));
        // The same steps as the plain solver's: equal states to rounding (matmul here against a
        // loop there: a few ulp over 10 steps).
        const Tensor<double> B = b_value();
        const auto plain = solve(
            [&](double, const Tensor<double>& y) {
                Tensor<double> d = Tensor<double>::from_shape({2, 3});
                for (std::size_t j = 0; j < 3; ++j) {
                    d(0, j) = B(0, 0) * y(0, j) + B(0, 1) * y(1, j);
                    d(1, j) = B(1, 0) * y(0, j) + B(1, 1) * y(1, j);
                }
                return d;
            },
            y0_value(), {0.0, 0.55, 1.0}, opts(m, Grad::direct).solver);
        CHECK(sol.forward.nfe == plain.stats.nfe);
        for (std::size_t i = 0; i < 3; ++i)
            for (std::size_t e = 0; e < 6; ++e)
                CHECK(sol.ys.value<double>().data()[6 * i + e] == doctest::Approx(plain.ys[i].data()[e]).epsilon(1e-13));

        backward(sum(sol.ys * Var(loss_weights())));
        // Central differences of the same discrete map (a polynomial in B and y0 of degree
        // ~steps): truncation eps^2 * (third derivative ~1) = 1e-12, rounding 1e-16 / eps = 1e-10;
        // so 1e-7 absolute catches any real error (gradients here are of order 1).
        const double eps = 1e-6;
        for (std::size_t i = 0; i < 4; ++i) {
            Tensor<double> plus = b_value(), minus = b_value();
            plus.data()[i] += eps;
            minus.data()[i] -= eps;
            const double fd = (loss_value(m, plus, y0_value()) - loss_value(m, minus, y0_value())) / (2 * eps);
            CHECK(std::abs(b.grad().value<double>().data()[i] - fd) < 1e-7);
        }
        for (std::size_t i = 0; i < 6; ++i) {
            Tensor<double> plus = y0_value(), minus = y0_value();
            plus.data()[i] += eps;
            minus.data()[i] -= eps;
            const double fd = (loss_value(m, b_value(), plus) - loss_value(m, b_value(), minus)) / (2 * eps);
            CHECK(std::abs(y0.grad().value<double>().data()[i] - fd) < 1e-7);
        }
    }
}

TEST_CASE("odeint, Grad::direct: symplectic solve over float32") {
    // float32 states: the forward agrees with the float64 solve to float32 rounding over 10
    // steps (~10 * 6e-8 relative on values of order 1), and a gradient arrives.
    Var b(Tensor<float>({{0.0f, 0.8f}, {-1.3f, 0.0f}}), true);
    const Var y0(Tensor<float>({{1.0f, 0.0f, -0.5f}, {0.0f, 1.0f, 0.8f}}));
    const auto f = [&](const Var&, const Var& y) { return matmul(b, y); };
    const OdeintSolution sol = odeint(f, y0, Var(Tensor<double>({0.0, 1.0})), {b}, opts(Method::leapfrog, Grad::direct));
    const Var b64(b_value());
    const OdeintSolution ref = odeint([&](const Var&, const Var& y) { return matmul(b64, y); }, Var(y0_value()),
                                      Var(Tensor<double>({0.0, 1.0})), {}, opts(Method::leapfrog, Grad::direct));
    for (std::size_t e = 0; e < 12; ++e)
        CHECK(std::abs(sol.ys.value<float>().data()[e] - ref.ys.value<double>().data()[e]) < 1e-5);
    backward(sum(sol.ys));
    CHECK(b.grad().defined());
}

TEST_CASE("odeint: adjoint and checkpointed modes refuse the symplectic methods") {
    Var b(b_value(), true);
    const auto f = [&](const Var&, const Var& y) { return matmul(b, y); };
    for (Grad g : {Grad::adjoint, Grad::checkpointed}) {
        CAPTURE(grad_name(g));
        std::string msg;
        try {
            odeint(f, Var(y0_value()), Var(Tensor<double>({0.0, 1.0})), {b}, opts(Method::yoshida4, g));
        } catch (const ValueError& e) {
            msg = e.what();
        }
        CHECK(msg.find("yoshida4") != std::string::npos);
        CHECK(msg.find("Grad::direct") != std::string::npos);
        CHECK(msg.find(grad_name(g)) != std::string::npos);
    }
    OdeintOptions o = opts(Method::dopri5, Grad::adjoint);
    o.adjoint.method = Method::leapfrog;
    CHECK_THROWS_AS(odeint(f, Var(y0_value()), Var(Tensor<double>({0.0, 1.0})), {b}, o), ValueError);
}
