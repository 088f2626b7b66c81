// odeint with Options::jump_times: the three gradient modes hop the same jumps (the adjoint's
// backward solve too, going the other way), so their gradients agree with the exact one for a
// right-hand side that switches sign at the jumps.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "odenet/autodiff.hpp"
#include "odenet/odeint/odeint.hpp"

using namespace odenet;
using namespace odenet::ode;

namespace {

// dy/dt = θ s(t) y with s = +1 before a, -1 on (a, b), +1 after b: y(1) = y0 exp(θ S) with
// S = ∫ s = a - (b - a) + (1 - b). Both a and b fall inside steps a blind solver would take.
constexpr double kA = 0.3, kB = 0.65;
constexpr double kS = kA - (kB - kA) + (1 - kB);

double sign_at(const Var& t) {
    const double tv = t.item();
    return tv < kA ? 1.0 : tv < kB ? -1.0 : 1.0;
}

}  // namespace

TEST_CASE("odeint with jump_times: direct, adjoint and checkpointed give the exact gradient (float64)") {
    const double theta0 = 0.7;
    const Tensor<double> y0v({1.0, -2.0, 0.5});
    for (Grad g : {Grad::direct, Grad::adjoint, Grad::checkpointed}) {
        CAPTURE(std::string(grad_name(g)));
        Var theta = Var::scalar(theta0, Dtype::float64);
        theta.set_requires_grad(true);
        Var y0(y0v, true);
        const auto f = [&](const Var& t, const Var& y) { return theta * y * sign_at(t); };
        OdeintOptions o;
        o.solver = {.rtol = 1e-10, .atol = 1e-12, .jump_times = {kA, kB}};
        o.grad = g;
        const Var ys = odeint(f, y0, Var(Tensor<double>({0.0, 1.0})), {theta}, o);
        const Var loss = sum(ys);  // y0 + y(1): d/dθ = S exp(θ S) Σ y0, d/dy0 = 1 + exp(θ S)
        backward(loss);
        const double e = std::exp(theta0 * kS);
        double sum_y0 = 0;
        for (double v : y0v) sum_y0 += v;
        CHECK(theta.grad().item() == doctest::Approx(kS * e * sum_y0).epsilon(1e-9));
        for (std::size_t i = 0; i < 3; ++i) CHECK(y0.grad().value<double>().data()[i] == doctest::Approx(1 + e).epsilon(1e-9));
    }
}

TEST_CASE("odeint with jump_times, float32: the dynamics never read t on the wrong side") {
    // t reaches f as a float32 Var: the jump gap is in float32 ulps (Note [Steps at jump times]).
    const double tj = 0.1;  // float(0.1) > 0.1
    for (Grad g : {Grad::direct, Grad::adjoint, Grad::checkpointed}) {
        CAPTURE(std::string(grad_name(g)));
        Var y0(Tensor<float>({1.0f, 2.0f}), true);
        const auto f = [&](const Var& t, const Var& y) { return y * (double(t.value<float>()()) < tj ? 1.0 : -1.0); };
        OdeintOptions o;
        o.solver = {.rtol = 1e-6, .atol = 1e-7, .jump_times = {tj}};
        o.grad = g;
        const Var ys = odeint(f, y0, Var(Tensor<double>({0.0, 0.25})), {}, o);
        const double e = std::exp(tj - (0.25 - tj));
        CHECK(ys.value<float>()(1, 0) == doctest::Approx(e).epsilon(2e-6));
        backward(sum(ys));
        CHECK(y0.grad().value<float>()(0) == doctest::Approx(1 + e).epsilon(2e-6));
    }
}
