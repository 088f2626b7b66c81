// Losses against hand-computed values, and their gradients.
#include <doctest/doctest.h>

#include <cmath>

#include "odenet/nn.hpp"
#include "odenet/testing/gradcheck.hpp"

using namespace odenet;
using namespace odenet::testing;
namespace F = odenet::nn::functional;

TEST_CASE("cross_entropy from logits with integer labels") {
    const Var logits(Tensor<double>{{1.0, 2.0, 3.0}, {0.0, 0.0, 0.0}});
    const std::vector<std::size_t> labels{2, 0};
    // Row 0: -log(e^3 / (e + e^2 + e^3)); row 1: log 3.
    const double l0 = -3.0 + std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
    const double l1 = std::log(3.0);
    CHECK(F::cross_entropy(logits, labels).item() == doctest::Approx((l0 + l1) / 2));
    CHECK(F::cross_entropy(logits, labels, nn::Reduction::sum).item() == doctest::Approx(l0 + l1));
    CHECK(nn::CrossEntropyLoss{}(logits, labels).item() == doctest::Approx((l0 + l1) / 2));
    // Gradient (softmax - one_hot) / N.
    Var z(logits.value().clone(), true);
    backward(F::cross_entropy(z, labels));
    const double p = std::exp(2.0) / (std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
    CHECK(z.grad().value<double>()(0, 1) == doctest::Approx(p / 2));
    CHECK(z.grad().value<double>()(1, 0) == doctest::Approx((1.0 / 3 - 1) / 2));
    CHECK(gradcheck([&](const std::vector<Var>& v) { return F::cross_entropy(v[0], labels); }, {randn({2, 3})}));
    CHECK(gradgradcheck([&](const std::vector<Var>& v) { return F::cross_entropy(v[0], labels); }, {randn({2, 3})}));
    CHECK_THROWS_AS(F::cross_entropy(logits, {3, 0}), ValueError);
    CHECK_THROWS_AS(F::cross_entropy(logits, {1}), ShapeError);
}

TEST_CASE("nll_loss picks -log_probs[i, label_i]") {
    const Var lp(Tensor<float>{{-0.5f, -1.0f}, {-2.0f, -0.1f}});
    const Var l = F::nll_loss(lp, {1, 0});
    CHECK(l.dtype() == Dtype::float32);
    CHECK(l.item() == doctest::Approx(1.5));
    CHECK(nn::NLLLoss{.reduction = nn::Reduction::sum}(lp, {0, 1}).item() == doctest::Approx(0.6));
    CHECK(gradcheck([](const std::vector<Var>& v) { return F::nll_loss(v[0], {1, 1, 0}); }, {randn({3, 2})}));
}

TEST_CASE("mse_loss is the mean squared difference") {
    const Var a(Tensor<double>{{1, 2}, {3, 4}});
    const Var b(Tensor<double>{{1, 0}, {0, 4}});
    CHECK(F::mse_loss(a, b).item() == doctest::Approx((4.0 + 9.0) / 4));
    CHECK(nn::MSELoss{.reduction = nn::Reduction::sum}(a, b).item() == doctest::Approx(13.0));
    CHECK(gradcheck([](const std::vector<Var>& v) { return F::mse_loss(v[0], v[1]); }, {randn({2, 3}), randn({2, 3})}));
    CHECK_THROWS_AS(F::mse_loss(a, ones({4})), ShapeError);
}

TEST_CASE("mse_loss against a hand computation") {
    const Var p(Tensor<double>{{1.0, 2.0}, {3.0, 4.0}}), t(Tensor<double>{{1.0, 0.0}, {0.0, 4.0}});
    CHECK(F::mse_loss(p, t).item() == doctest::Approx((4.0 + 9.0) / 4));
    CHECK_THROWS_WITH_AS(F::mse_loss(p, Var(Tensor<double>{1.0, 2.0})), doctest::Contains("(2, 2)"), ShapeError);
}

TEST_CASE("nll_loss and cross_entropy by hand") {
    const Tensor<double> logits = {{1.0, 2.0, 0.5}, {0.0, -1.0, 3.0}};
    const std::vector<std::size_t> labels = {1, 2};
    CHECK(F::nll_loss(Var(logits), labels).item() == doctest::Approx(-(2.0 + 3.0) / 2));
    double expected = 0;
    for (std::size_t i = 0; i < 2; ++i) {
        double z = 0;
        for (std::size_t k = 0; k < 3; ++k) z += std::exp(logits(i, k));
        expected += std::log(z) - logits(i, labels[i]);
    }
    CHECK(F::cross_entropy(Var(logits), labels).item() == doctest::Approx(expected / 2).epsilon(1e-14));
    // The gradient of cross-entropy is (softmax - onehot) / N.
    Var x(logits, true);
    backward(F::cross_entropy(x, labels));
    const double z0 = std::exp(1.0) + std::exp(2.0) + std::exp(0.5);
    CHECK(x.grad().value<double>()(0, 1) == doctest::Approx((std::exp(2.0) / z0 - 1.0) / 2));
    CHECK(x.grad().value<double>()(0, 0) == doctest::Approx(std::exp(1.0) / z0 / 2));
}

TEST_CASE("nll_loss rejects labels out of range, naming the index and the label") {
    const Var lp = zeros({3, 4});
    CHECK_THROWS_WITH_AS(F::nll_loss(lp, {0, 3, 7}), doctest::Contains("label 7 at index 2 is out of range for 4 classes"),
                         ValueError);
    CHECK_THROWS_WITH_AS(F::nll_loss(lp, {0, 1}), doctest::Contains("2 labels for log_probs of shape (3, 4)"), ShapeError);
    CHECK_THROWS_AS(F::cross_entropy(zeros({3}), {0, 1, 2}), ShapeError);
}

TEST_CASE("the losses pass gradcheck and gradgradcheck in float64 (labels with a repeat)") {
    using V = std::vector<Var>;
    const auto mse = [](const V& v) { return F::mse_loss(v[0], v[1]); };
    const auto nll = [](const V& v) { return F::nll_loss(square(v[0]), {1, 0, 4, 1}); };
    const auto ce = [](const V& v) { return F::cross_entropy(v[0], {3, 3, 0, 2}, nn::Reduction::sum); };
    CHECK(gradcheck(mse, {randn({3, 4}), randn({3, 4})}));
    CHECK(gradgradcheck(mse, {randn({3, 4}), randn({3, 4})}));
    CHECK(gradcheck(nll, {randn({4, 5})}));
    CHECK(gradgradcheck(nll, {randn({4, 5})}));
    CHECK(gradcheck(ce, {randn({4, 5})}));
    CHECK(gradgradcheck(ce, {randn({4, 5})}));
}

TEST_CASE("losses of an empty batch are an error, not 0 or NaN") {
    CHECK_THROWS_WITH_AS(F::nll_loss(zeros({0, 3}), {}), doctest::Contains("empty batch"), ValueError);
}

TEST_CASE("l1_loss is the mean absolute difference") {
    const Var a(Tensor<double>{{1, 2}, {3, 4}});
    const Var b(Tensor<double>{{1, 0}, {0, 4}});
    CHECK(F::l1_loss(a, b).item() == doctest::Approx((2.0 + 3.0) / 4));
    CHECK(nn::L1Loss{}(a, b).item() == doctest::Approx(5.0 / 4));
    CHECK(nn::L1Loss{.reduction = nn::Reduction::sum}(a, b).item() == doctest::Approx(5.0));
    CHECK(F::l1_loss(Var(Tensor<float>{1.0f, -1.0f}), Var(Tensor<float>{0.0f, 0.0f})).dtype() == Dtype::float32);
    CHECK_THROWS_WITH_AS(F::l1_loss(a, ones({4})), "l1_loss: shapes differ: (2, 2) and (4)", ShapeError);
}

TEST_CASE("l1_loss gradient: sign(pred - target) / n, 0 at a tie") {
    Var pred(Tensor<double>{1.5, -2.0, 3.0}, true);
    Var target(Tensor<double>{1.0, 0.0, 3.0}, true);
    backward(F::l1_loss(pred, target));
    const auto& gp = pred.grad().value<double>();
    const auto& gt = target.grad().value<double>();
    CHECK(gp(0) == doctest::Approx(1.0 / 3));
    CHECK(gp(1) == doctest::Approx(-1.0 / 3));
    CHECK(gp(2) == 0.0);
    CHECK(gt(0) == doctest::Approx(-1.0 / 3));
    CHECK(gt(1) == doctest::Approx(1.0 / 3));
}

TEST_CASE("l1_loss passes gradcheck and gradgradcheck away from the kink") {
    // target = pred - d with |d| in [0.5, 2]: a 1e-6 difference step never crosses pred == target.
    Generator gen(5);
    Tensor<double> pred = randn<double>({3, 4}, gen);
    Tensor<double> d = uniform<double>({3, 4}, 0.5, 2.0, gen);
    for (double& x : d) x *= gen.rademacher();
    const std::vector<Var> inputs{Var(pred), Var(Tensor<double>(pred - d))};
    for (const auto reduction : {nn::Reduction::mean, nn::Reduction::sum}) {
        const auto f = [reduction](const std::vector<Var>& v) { return F::l1_loss(v[0], v[1], reduction); };
        CHECK(gradcheck(f, inputs));
        CHECK(gradgradcheck(f, inputs));
    }
}
