// NeuralCDE (neural_cde.hpp): a CDE driven by X(t) = t is the ODE of its field; the three
// gradient modes agree (parameters and data); derivatives pass gradcheck at first and second
// order; the knots as jump times save rejected steps; bad inputs are refused by name.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "odenet/autodiff.hpp"
#include "odenet/nn.hpp"
#include "odenet/testing/gradcheck.hpp"
#include "support/compare.hpp"

using namespace odenet;
using odenet::test::max_abs_diff;

namespace {

// f(z) = tanh(W z + b), (batch, hidden) -> (batch, hidden·channels), Kidger et al.'s final tanh.
std::shared_ptr<nn::Sequential> tanh_field(std::size_t hidden, std::size_t channels, std::uint64_t seed) {
    manual_seed(seed);
    return std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(hidden, hidden * channels),
                                            std::make_shared<nn::Tanh>());
}

// (batch, T, channels) of smooth series, time as channel 0, with a few values missing (NaN).
Tensor<double> series(const std::vector<double>& t, std::size_t batch, std::size_t channels, bool missing) {
    Tensor<double> x = Tensor<double>::from_shape({batch, t.size(), channels});
    for (std::size_t b = 0; b < batch; ++b)
        for (std::size_t j = 0; j < t.size(); ++j)
            for (std::size_t c = 0; c < channels; ++c)
                x(b, j, c) = c == 0 ? t[j] : std::sin(1.3 * t[j] * double(c) + 0.4 * double(b)) + 0.1 * double(c);
    if (missing) {
        x(0, 2, 1) = NAN;
        x(1, 0, channels - 1) = NAN;  // a channel first observed at t[1]: X' jumps there
    }
    return x;
}

Var time_var(const std::vector<double>& t) {
    Tensor<double> v = Tensor<double>::from_shape({t.size()});
    std::copy(t.begin(), t.end(), v.begin());
    return Var(v);
}


}  // namespace

TEST_CASE("NeuralCDE: driven by X(t) = t alone, it is the ODE dz/dt = f(z)") {
    const std::vector<double> t{0.0, 0.3, 0.7, 1.2, 2.0};
    Tensor<double> x = Tensor<double>::from_shape({3, t.size(), 1});
    for (std::size_t b = 0; b < 3; ++b)
        for (std::size_t j = 0; j < t.size(); ++j) x(b, j, 0) = t[j];
    auto field = tanh_field(4, 1, 3);
    for (bool knots : {false, true}) {
        CAPTURE(knots);
        nn::NeuralCDE cde(field, 1, 4, {.odeint = {.solver = {.rtol = 1e-10, .atol = 1e-12}}, .stop_at_knots = knots});
        const nn::CubicPath X = nn::natural_cubic_spline(time_var(t), Var(x));
        NoGradGuard no_grad;
        const Var z0 = cde.initial->forward(X.evaluate(0.0));
        const Var ode = nn::odeint(std::static_pointer_cast<nn::Layer>(field), z0, Var(Tensor<double>{0.0, 2.0}),
                                   {.solver = {.rtol = 1e-10, .atol = 1e-12}});
        const Var z1 = cde(X);
        const Var want = reshape(index_select(ode, 0, {1}), {3, 4});
        // Without knots the two solves take the same steps (X' = 1 to rounding); with them they
        // stop at the knots and agree to tolerance.
        CHECK(max_abs_diff(z1, want) < (knots ? 1e-9 : 1e-13));
    }
}

TEST_CASE("NeuralCDE: adjoint, checkpointed and direct give the same gradients, data included (float64)") {
    const std::vector<double> t{0.0, 0.4, 0.5, 1.1, 1.6, 2.0};
    const Var times = time_var(t);
    const Tensor<double> xv = series(t, 2, 3, true);
    auto field = tanh_field(5, 3, 11);
    std::vector<std::vector<Tensor<double>>> grads;
    for (ode::Grad g : {ode::Grad::direct, ode::Grad::adjoint, ode::Grad::checkpointed}) {
        CAPTURE(std::string(ode::grad_name(g)));
        manual_seed(5);
        nn::NeuralCDE cde(field, 3, 5, {.odeint = {.solver = {.rtol = 1e-11, .atol = 1e-12}, .grad = g}});
        Var x(xv, true);
        const nn::CubicPath X = nn::hermite_cubic_spline(times, x);
        const Var z = cde.trajectory(X, Var(Tensor<double>{0.0, 1.0, 2.0})).ys;
        backward(sum(z * z));
        std::vector<Tensor<double>> gs;
        for (const Var& p : cde.parameters()) gs.push_back(p.grad().value<double>());
        Tensor<double> gx = x.grad().value<double>();
        for (double& v : gx) if (std::isnan(v)) v = 0;  // NaN entries are not data
        gs.push_back(gx);
        grads.push_back(gs);
        cde.zero_grad();
        CHECK(cde.last_stats().forward.nfe > 0);
        if (g != ode::Grad::direct) CHECK(cde.last_stats().backward.nfe > 0);
    }
    for (std::size_t m = 1; m < grads.size(); ++m)
        for (std::size_t k = 0; k < grads[0].size(); ++k) {
            CAPTURE(m);
            CAPTURE(k);
            double worst = 0, scale = 0;
            for (std::size_t i = 0; i < grads[0][k].size(); ++i) {
                worst = std::max(worst, std::abs(grads[m][k].data()[i] - grads[0][k].data()[i]));
                scale = std::max(scale, std::abs(grads[0][k].data()[i]));
            }
            CHECK(scale > 0);
            CHECK(worst < 1e-7 * (1 + scale));
        }
}

TEST_CASE("NeuralCDE: field and trajectory pass gradcheck at first and second order (data, f, ζ)") {
    const std::vector<double> t{0.0, 0.5, 0.8, 1.5};
    const Var times = time_var(t);
    auto field = tanh_field(3, 2, 17);
    nn::NeuralCDE cde(field, 2, 3, {.odeint = {.solver = {.method = ode::Method::rk4, .step_size = 0.25}, .grad = ode::Grad::direct}});
    auto* lin = static_cast<nn::Linear*>(field->children()[0].second);
    auto fn = [&](const std::vector<Var>& in) {
        lin->weight = in[1];
        cde.initial->weight = in[2];
        const nn::CubicPath X = nn::natural_cubic_spline(times, in[0]);
        const Var zs = cde.trajectory(X, Var(Tensor<double>{0.0, 0.7, 1.5})).ys;
        const Var v = cde.vector_field(X, Var::scalar(0.6), reshape(index_select(zs, 0, {1}), {2, 3}));
        return concat({reshape(zs, {2, 9}), v}, 1);
    };
    const std::vector<Var> inputs{Var(series(t, 2, 2, false)), lin->weight.detach(), cde.initial->weight.detach()};
    CHECK(testing::gradcheck(fn, inputs));
    CHECK(testing::gradgradcheck(fn, inputs));
}

TEST_CASE("NeuralCDE: the knots as jump times save rejected steps and NFE") {
    // A Hermite path is C1 with X'' jumping at every knot: blind adaptive steps across them are
    // rejected until they fit; stopping at the knots needs no rejections there.
    std::vector<double> t;
    for (int j = 0; j <= 20; ++j) t.push_back(0.1 * j + 0.013 * std::sin(7.0 * j));
    const Var times = time_var(t);
    const nn::CubicPath X = nn::hermite_cubic_spline(times, Var(series(t, 4, 3, true)));
    auto field = tanh_field(8, 3, 23);
    ode::SolveStats with, blind;
    for (bool knots : {true, false}) {
        nn::NeuralCDE cde(field, 3, 8, {.odeint = {.solver = {.rtol = 1e-8, .atol = 1e-10}}, .stop_at_knots = knots});
        NoGradGuard no_grad;
        (void)cde(X);
        (knots ? with : blind) = cde.last_stats().forward;
    }
    MESSAGE("knots: nfe " << with.nfe << ", rejected " << with.rejected << "; blind: nfe " << blind.nfe << ", rejected "
                          << blind.rejected);
    CHECK(with.rejected < blind.rejected);
}

TEST_CASE("NeuralCDE: float32 end to end agrees with float64") {
    const std::vector<double> t{0.0, 0.4, 0.9, 1.3};
    const Var times = time_var(t);
    auto field = tanh_field(4, 2, 29);
    nn::NeuralCDE cde(field, 2, 4, {.odeint = {.solver = {.rtol = 1e-6, .atol = 1e-7}}});
    const Tensor<double> xv = series(t, 3, 2, true);
    const Var z64 = cde(nn::natural_cubic_spline(times, Var(xv)));
    cde.to(Dtype::float32);
    Var x32 = to_dtype(Var(xv), Dtype::float32);
    const Var z32 = cde(nn::natural_cubic_spline(times, x32));
    CHECK(z32.dtype() == Dtype::float32);
    CHECK(max_abs_diff(to_dtype(z32, Dtype::float64), z64) < 1e-4);
    backward(sum(z32));
    for (const Var& p : cde.parameters()) CHECK(p.grad().dtype() == Dtype::float32);
}

TEST_CASE("NeuralCDE: bad layers, paths and fields are refused by name") {
    CHECK_THROWS_WITH_AS(nn::NeuralCDE(nullptr, 2, 3), doctest::Contains("NeuralCDE"), ValueError);
    CHECK_THROWS_WITH_AS(nn::NeuralCDE(tanh_field(3, 2, 1), 0, 3), doctest::Contains("channels"), ValueError);
    const std::vector<double> t{0.0, 1.0, 2.0};
    const Var times = time_var(t);
    const nn::CubicPath X = nn::natural_cubic_spline(times, Var(series(t, 2, 3, false)));
    nn::NeuralCDE two(tanh_field(3, 2, 1), 2, 3);
    CHECK_THROWS_WITH_AS(two(X), doctest::Contains("3 channels"), ShapeError);
    nn::NeuralCDE wrong_field(tanh_field(3, 2, 1), 3, 3);  // returns 6 columns, needs 9
    CHECK_THROWS_WITH_AS(wrong_field(X), doctest::Contains("(batch, hidden·channels) = (2, 9)"), ShapeError);
    nn::NeuralCDE f32(tanh_field(3, 3, 1), 3, 3, {.dtype = Dtype::float32});
    CHECK_THROWS_WITH_AS(f32(X), doctest::Contains("float32"), DtypeError);
    nn::NeuralCDE ok(tanh_field(3, 3, 1), 3, 3);
    CHECK_THROWS_WITH_AS(ok.trajectory(X, Var(Tensor<double>{0.0, 2.5})), doctest::Contains("NeuralCDE"), ValueError);
    CHECK_THROWS_WITH_AS(ok.trajectory(X, Var(Tensor<double>{2.0, 0.0})), doctest::Contains("strictly increasing"), ValueError);
    // A float32 field in a float64 layer: odeint's error names the parameter as the module does.
    nn::NeuralCDE mixed(tanh_field(3, 3, 1), 3, 3);
    mixed.field->to(Dtype::float32);
    CHECK_THROWS_WITH_AS(mixed(X), doctest::Contains("field.0.weight"), Error);
}
