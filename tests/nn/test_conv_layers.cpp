// Layers over the conv2d, group_norm and concat ops (Conv2d, ConcatConv2d, GroupNorm). Compiled
// unconditionally: a missing op or header is a build error, not a test file that silently
// compiles to nothing.
#include <doctest/doctest.h>

#include <cmath>

#include <xtensor/xview.hpp>

#include "odenet/nn.hpp"
#include "odenet/testing/gradcheck.hpp"

using namespace odenet;
using namespace odenet::testing;
namespace nn = odenet::nn;

namespace {
// Direct cross-correlation: out[n, o, i, j] = b[o] + Σ_c,p,q w[o, c, p, q] x[n, c, i s + p - pad, j s + q - pad].
Tensor<double> direct_conv(const Tensor<double>& x, const Tensor<double>& w, const Tensor<double>& b,
                           std::size_t stride, std::size_t pad) {
    const std::size_t N = x.shape()[0], C = x.shape()[1], H = x.shape()[2], W = x.shape()[3];
    const std::size_t O = w.shape()[0], K = w.shape()[2];
    const std::size_t Ho = (H + 2 * pad - K) / stride + 1, Wo = (W + 2 * pad - K) / stride + 1;
    Tensor<double> out = xt::zeros<double>({N, O, Ho, Wo});
    for (std::size_t n = 0; n < N; ++n)
        for (std::size_t o = 0; o < O; ++o)
            for (std::size_t i = 0; i < Ho; ++i)
                for (std::size_t j = 0; j < Wo; ++j) {
                    double s = b.size() ? b(o) : 0.0;
                    for (std::size_t c = 0; c < C; ++c)
                        for (std::size_t p = 0; p < K; ++p)
                            for (std::size_t q = 0; q < K; ++q) {
                                const long r = static_cast<long>(i * stride + p) - static_cast<long>(pad);
                                const long t = static_cast<long>(j * stride + q) - static_cast<long>(pad);
                                if (r < 0 || t < 0 || r >= static_cast<long>(H) || t >= static_cast<long>(W)) continue;
                                s += w(o, c, p, q) * x(n, c, static_cast<std::size_t>(r), static_cast<std::size_t>(t));
                            }
                    out(n, o, i, j) = s;
                }
    return out;
}
}  // namespace

TEST_CASE("Conv2d: against a direct convolution loop, with stride, padding and bias") {
    manual_seed(1);
    for (auto [stride, pad, bias] : {std::tuple{1, 0, true}, {1, 1, true}, {2, 1, false}, {2, 0, true}}) {
        nn::Conv2d conv(3, 4, 3, {.stride = std::size_t(stride), .padding = std::size_t(pad), .bias = bias});
        const Var x = randn({2, 3, 7, 6});
        const Tensor<double> b = bias ? conv.bias.value<double>() : Tensor<double>();
        const Tensor<double> expect = direct_conv(x.value<double>(), conv.weight.value<double>(), b, stride, pad);
        const Var y = conv(x);
        REQUIRE(y.shape() == expect.shape());
        CHECK(xt::allclose(y.value<double>(), expect, 1e-12, 1e-12));
    }
    const double bound = 1.0 / std::sqrt(3.0 * 9.0);
    nn::Conv2d conv(3, 64, 3);
    CHECK(xt::amax(xt::abs(conv.weight.value<double>()))() <= bound);
    CHECK(xt::amax(xt::abs(conv.weight.value<double>()))() > 0.99 * bound);
}

TEST_CASE("Conv2d: gradcheck through the module, weight and bias included") {
    manual_seed(2);
    nn::Conv2d conv(2, 3, 3, {.stride = 2, .padding = 1});
    const auto f = [&](const std::vector<Var>& v) {
        conv.weight = v[1];
        conv.bias = v[2];
        return conv(v[0]);
    };
    CHECK(gradcheck(f, {randn({2, 2, 5, 5}), conv.weight, conv.bias}));
    CHECK(gradgradcheck(f, {randn({1, 2, 4, 4}), conv.weight, conv.bias}));
}

TEST_CASE("ConcatConv2d: t is prepended as input channel 0") {
    manual_seed(3);
    nn::ConcatConv2d layer(2, 3, 3, {.padding = 1});
    CHECK(layer.layer.weight.shape() == Shape{3, 3, 3, 3});
    const Var x = randn({2, 2, 4, 4});
    const double t = 0.3;
    Tensor<double> tx = xt::zeros<double>({2, 3, 4, 4});
    xt::view(tx, xt::all(), 0) = t;
    xt::view(tx, xt::all(), xt::range(1, 3)) = x.value<double>();
    const Tensor<double> expect = direct_conv(tx, layer.layer.weight.value<double>(), layer.layer.bias.value<double>(), 1, 1);
    CHECK(xt::allclose(layer(Var::scalar(t), x).value<double>(), expect, 1e-12, 1e-12));
    const auto f = [&](const std::vector<Var>& v) {
        layer.layer.weight = v[2];
        return layer(v[0], v[1]);
    };
    CHECK(gradcheck(f, {Var::scalar(t), randn({1, 2, 3, 3}), layer.layer.weight}));
}

TEST_CASE("GroupNorm: per-group statistics, affine parameters, gradcheck") {
    manual_seed(4);
    nn::GroupNorm gn(2, 4);
    CHECK(gn.weight.value<double>() == Tensor<double>{1, 1, 1, 1});
    CHECK(gn.bias.value<double>() == Tensor<double>{0, 0, 0, 0});
    const Var x = randn({3, 4, 2, 3}) * 3.0 + 2.0;
    const Var y = gn(x);
    // Each (sample, group) of 2 channels x 6 positions has mean 0 and biased variance ~1.
    for (std::size_t n = 0; n < 3; ++n) {
        for (std::size_t g = 0; g < 2; ++g) {
            const Tensor<double> block = xt::view(y.value<double>(), n, xt::range(2 * g, 2 * g + 2));
            CHECK(xt::mean(block)() == doctest::Approx(0).scale(1).epsilon(1e-12));
            CHECK(xt::mean(xt::square(block))() == doctest::Approx(1).epsilon(1e-3));
        }
    }
    CHECK_THROWS_AS(nn::GroupNorm(3, 4), ValueError);
    const auto f = [&](const std::vector<Var>& v) {
        gn.weight = v[1];
        gn.bias = v[2];
        return gn(v[0]);
    };
    CHECK(gradcheck(f, {randn({2, 4, 2, 2}), randn({4}), randn({4})}));
}

