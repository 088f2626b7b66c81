// Layers that need only the existing ops: values against closed forms, gradients by gradcheck in
// float64 through the module with its parameters as inputs.
#include <doctest/doctest.h>

#include <cmath>

#include "odenet/nn.hpp"
#include "odenet/testing/gradcheck.hpp"

using namespace odenet;
using namespace odenet::testing;
namespace nn = odenet::nn;

namespace {
double max_abs(const Tensor<double>& t) { return t.size() ? xt::amax(xt::abs(t))() : 0.0; }
}  // namespace

TEST_CASE("init: Linear weights and bias are U(-1/sqrt(fan_in), 1/sqrt(fan_in)) and seeded") {
    manual_seed(7);
    nn::Linear a(400, 50);
    manual_seed(7);
    nn::Linear b(400, 50);
    CHECK(a.weight.value<double>() == b.weight.value<double>());
    const double bound = 1.0 / std::sqrt(400.0);
    CHECK(max_abs(a.weight.value<double>()) <= bound);
    CHECK(max_abs(a.bias.value<double>()) <= bound);
    // 20000 uniform draws: the largest |w| comes within 1% of the bound, the variance is
    // bound^2 / 3 within 5% (its standard error is ~1%).
    CHECK(max_abs(a.weight.value<double>()) > 0.99 * bound);
    const double var = xt::mean(xt::square(a.weight.value<double>()))();
    CHECK(var == doctest::Approx(bound * bound / 3).epsilon(0.05));
    CHECK(nn::init::fan_in({8, 3, 4, 4}) == 48);
}

TEST_CASE("Linear: y = x W^T + b, for 2-D and batched inputs, float32 too") {
    nn::Linear lin(2, 3);
    lin.weight.mutable_value<double>() = Tensor<double>{{1, 2}, {3, 4}, {5, 6}};
    lin.bias.mutable_value<double>() = Tensor<double>{0.5, -0.5, 1};
    const Var y = lin(Var(Tensor<double>{{1, -1}, {2, 0}}));
    CHECK(y.value<double>() == Tensor<double>{{-0.5, -1.5, 0}, {2.5, 5.5, 11}});
    const Var y3 = lin(Var(Tensor<double>{{{1, -1}}, {{2, 0}}}));
    CHECK(y3.shape() == Shape{2, 1, 3});
    CHECK(y3.value<double>()(1, 0, 2) == 11);
    CHECK_THROWS_AS(lin(ones({2, 3})), ShapeError);
    lin.to(Dtype::float32);
    CHECK(lin(ones({1, 2}, Dtype::float32)).dtype() == Dtype::float32);
    CHECK_THROWS_AS(lin(ones({1, 2})), DtypeError);
}

TEST_CASE("Linear: gradcheck through the module, weight and bias included") {
    manual_seed(1);
    nn::Linear lin(3, 2);
    const auto f = [&](const std::vector<Var>& v) {
        lin.weight = v[1];
        lin.bias = v[2];
        return lin(v[0]);
    };
    CHECK(gradcheck(f, {randn({4, 3}), lin.weight, lin.bias}));
    nn::Linear nb(3, 2, {.bias = false});
    CHECK_FALSE(nb.bias.defined());
    CHECK(nb.named_parameters().size() == 1);
}

TEST_CASE("activations: values and gradcheck") {
    const Var x(Tensor<double>{{-1.5, -0.2, 0.3, 2.0}});
    nn::ReLU relu_;
    nn::Tanh tanh_;
    nn::Sigmoid sigmoid_;
    nn::Softplus softplus_;
    nn::ELU elu_(0.5);
    CHECK(relu_(x).value<double>() == Tensor<double>{{0, 0, 0.3, 2.0}});
    CHECK(tanh_(x).value<double>()(0, 3) == doctest::Approx(std::tanh(2.0)));
    CHECK(sigmoid_(x).value<double>()(0, 0) == doctest::Approx(1 / (1 + std::exp(1.5))));
    CHECK(softplus_(x).value<double>()(0, 1) == doctest::Approx(std::log1p(std::exp(-0.2))));
    CHECK(elu_(x).value<double>()(0, 0) == doctest::Approx(0.5 * (std::exp(-1.5) - 1)));
    CHECK(elu_(x).value<double>()(0, 2) == doctest::Approx(0.3));
    for (nn::Layer* layer : std::initializer_list<nn::Layer*>{&relu_, &tanh_, &sigmoid_, &softplus_, &elu_}) {
        CHECK(gradcheck([&](const std::vector<Var>& v) { return (*layer)(v[0]); }, {x}));
    }
}

TEST_CASE("Flatten and AdaptiveAvgPool2d: shapes, values, gradients") {
    manual_seed(2);
    const Var x = randn({2, 3, 4, 5});
    nn::Flatten flat;
    CHECK(flat(x).shape() == Shape{2, 60});
    CHECK(flat(x).value<double>()(1, 23) == x.value<double>()(1, 1, 0, 3));  // 23 = 1*20 + 0*5 + 3
    CHECK(gradcheck([&](const std::vector<Var>& v) { return flat(v[0]); }, {randn({2, 2, 3})}));
    nn::AdaptiveAvgPool2d pool;
    const Var y = pool(x);
    CHECK(y.shape() == Shape{2, 3, 1, 1});
    double s = 0;
    for (std::size_t i = 0; i < 4; ++i)
        for (std::size_t j = 0; j < 5; ++j) s += x.value<double>()(1, 2, i, j);
    CHECK(y.value<double>()(1, 2, 0, 0) == doctest::Approx(s / 20));
    CHECK(gradcheck([&](const std::vector<Var>& v) { return pool(v[0]); }, {randn({2, 2, 3, 3})}));
    CHECK_THROWS_AS(nn::AdaptiveAvgPool2d(2), ValueError);
    CHECK_THROWS_AS(pool(ones({2, 3})), ShapeError);
}

TEST_CASE("Dropout: identity in eval, inverted scaling in training") {
    manual_seed(4);
    nn::Dropout drop(0.25);
    const Var x = ones({100, 100});
    const Var y = drop(x);
    const auto& v = y.value<double>();
    std::size_t kept = 0;
    for (double e : v) {
        CHECK((e == 0.0 || e == doctest::Approx(1 / 0.75)));
        kept += e != 0.0;
    }
    // 10^4 Bernoulli(0.75) draws: standard deviation 43, so 7500 ± 250 is ±5.8 sigma.
    CHECK(kept > 7250);
    CHECK(kept < 7750);
    drop.eval();
    CHECK(drop(x).same(x));
    CHECK_THROWS_AS(nn::Dropout(1.5), ValueError);
    // Gradient: the same mask scales the cotangent.
    drop.train();
    Var xg(Tensor<double>(xt::ones<double>({10, 10})), true);
    const Var yg = drop(xg);
    backward(sum(yg));
    CHECK(xg.grad().value<double>() == yg.value<double>());
    // gradcheck with the mask fixed by reseeding before every evaluation.
    CHECK(gradcheck([&](const std::vector<Var>& v) {
        manual_seed(11);
        return drop(v[0]);
    }, {randn({3, 4})}));
}

TEST_CASE("BatchNorm2d: batch statistics, running estimates, eval mode, gradcheck") {
    manual_seed(5);
    nn::BatchNorm2d bn(3, {.momentum = 0.1});
    const Var x = randn({4, 3, 2, 2}) * 2.0 + 1.0;
    const Var y = bn(x);
    // Each channel of the output has mean 0 and (biased) variance 1 - eps/(var + eps) ~ 1.
    const Tensor<double> m = xt::mean(y.value<double>(), {0, 2, 3});
    const Tensor<double> s2 = xt::mean(xt::square(y.value<double>()), {0, 2, 3});
    for (std::size_t c = 0; c < 3; ++c) {
        CHECK(m(c) == doctest::Approx(0).epsilon(1e-12).scale(1));
        CHECK(s2(c) == doctest::Approx(1).epsilon(1e-4));
    }
    // Running estimates: 0.9 * init + 0.1 * batch (unbiased variance, n = 16).
    const Tensor<double> xm = xt::mean(x.value<double>(), {0, 2, 3});
    Tensor<double> xv = xt::zeros<double>({3});
    for (std::size_t c = 0; c < 3; ++c) {
        double acc = 0;
        for (std::size_t n = 0; n < 4; ++n)
            for (std::size_t i = 0; i < 2; ++i)
                for (std::size_t j = 0; j < 2; ++j) acc += std::pow(x.value<double>()(n, c, i, j) - xm(c), 2);
        xv(c) = acc / 15;
        CHECK(bn.running_mean.value<double>()(c) == doctest::Approx(0.1 * xm(c)));
        CHECK(bn.running_var.value<double>()(c) == doctest::Approx(0.9 + 0.1 * xv(c)));
    }
    // Eval uses the running estimates.
    bn.eval();
    const Var ye = bn(x);
    const double expect = (x.value<double>()(1, 2, 0, 1) - bn.running_mean.value<double>()(2)) /
                          std::sqrt(bn.running_var.value<double>()(2) + 1e-5);
    CHECK(ye.value<double>()(1, 2, 0, 1) == doctest::Approx(expect));
    // Gradients through the batch statistics and the affine parameters (training mode).
    bn.train();
    const auto f = [&](const std::vector<Var>& v) {
        bn.weight = v[1];
        bn.bias = v[2];
        return bn(v[0]);
    };
    CHECK(gradcheck(f, {randn({3, 3, 2, 2}), randn({3}), randn({3})}));
    bn.eval();
    CHECK(gradcheck(f, {randn({3, 3, 2, 2}), randn({3}), randn({3})}));
}

TEST_CASE("ConcatLinear: Linear on [t, x] with t prepended; gradcheck in x, t and parameters") {
    manual_seed(6);
    nn::ConcatLinear layer(2, 3);
    CHECK(layer.layer.weight.shape() == Shape{3, 3});
    const Var x = randn({4, 2});
    const Var t = Var::scalar(0.7);
    const Var y = layer(t, x);
    const auto& w = layer.layer.weight.value<double>();
    const auto& b = layer.layer.bias.value<double>();
    for (std::size_t n = 0; n < 4; ++n) {
        for (std::size_t o = 0; o < 3; ++o) {
            const double e = w(o, 0) * 0.7 + w(o, 1) * x.value<double>()(n, 0) + w(o, 2) * x.value<double>()(n, 1) + b(o);
            CHECK(y.value<double>()(n, o) == doctest::Approx(e));
        }
    }
    const auto f = [&](const std::vector<Var>& v) {
        layer.layer.weight = v[2];
        layer.layer.bias = v[3];
        return layer(v[0], v[1]);
    };
    CHECK(gradcheck(f, {t, x, layer.layer.weight, layer.layer.bias}));
    CHECK(gradgradcheck(f, {t, x, layer.layer.weight, layer.layer.bias}));
    // float32 state with a float64 time.
    nn::ConcatLinear l32(2, 3, {.dtype = Dtype::float32});
    CHECK(l32(t, ones({2, 2}, Dtype::float32)).dtype() == Dtype::float32);
    CHECK_THROWS_AS(layer(ones({2}), x), ShapeError);
}

TEST_CASE("ConcatSquashLinear: layer(x) * sigmoid(gate(t)) + hyper_bias(t); gradcheck") {
    manual_seed(8);
    nn::ConcatSquashLinear layer(2, 3);
    const std::vector<std::string> expected{"layer.weight", "layer.bias", "hyper_bias.weight", "hyper_gate.weight",
                                            "hyper_gate.bias"};
    std::vector<std::string> got;
    for (const auto& [n, v] : layer.named_parameters()) got.push_back(n);
    CHECK(got == expected);
    const Var x = randn({5, 2});
    const double t = -0.4;
    const Var y = layer(Var::scalar(t), x);
    const auto& w = layer.layer.weight.value<double>();
    const auto& b = layer.layer.bias.value<double>();
    const auto& hb = layer.hyper_bias.weight.value<double>();
    const auto& gw = layer.hyper_gate.weight.value<double>();
    const auto& gb = layer.hyper_gate.bias.value<double>();
    for (std::size_t n = 0; n < 5; ++n) {
        for (std::size_t o = 0; o < 3; ++o) {
            const double lin = w(o, 0) * x.value<double>()(n, 0) + w(o, 1) * x.value<double>()(n, 1) + b(o);
            const double gate = 1 / (1 + std::exp(-(gw(o, 0) * t + gb(o))));
            CHECK(y.value<double>()(n, o) == doctest::Approx(lin * gate + hb(o, 0) * t));
        }
    }
    const auto f = [&](const std::vector<Var>& v) {
        layer.layer.weight = v[2];
        layer.layer.bias = v[3];
        layer.hyper_bias.weight = v[4];
        layer.hyper_gate.weight = v[5];
        layer.hyper_gate.bias = v[6];
        return layer(v[0], v[1]);
    };
    const std::vector<Var> inputs{Var::scalar(t), x, layer.layer.weight, layer.layer.bias, layer.hyper_bias.weight,
                                  layer.hyper_gate.weight, layer.hyper_gate.bias};
    CHECK(gradcheck(f, inputs));
    CHECK(gradgradcheck(f, inputs));
}

TEST_CASE("Sequential: gradcheck through a small MLP") {
    manual_seed(9);
    auto l1 = std::make_shared<nn::Linear>(3, 4);
    auto l2 = std::make_shared<nn::Linear>(4, 2);
    nn::Sequential seq(l1, std::make_shared<nn::Softplus>(), l2);
    const auto f = [&](const std::vector<Var>& v) {
        l1->weight = v[1];
        l2->bias = v[2];
        return seq(v[0]);
    };
    CHECK(gradcheck(f, {randn({2, 3}), l1->weight, l2->bias}));
}
