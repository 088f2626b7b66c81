// Loss values against hand computations and the label errors. Derivatives: registry rows.
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

#include "odenet/autodiff.hpp"

using namespace odenet;

TEST_CASE("mse_loss") {
    const Var p(Tensor<double>{{1.0, 2.0}, {3.0, 4.0}}), t(Tensor<double>{{1.0, 0.0}, {0.0, 4.0}});
    CHECK(mse_loss(p, t).item() == doctest::Approx((4.0 + 9.0) / 4));
    CHECK_THROWS_WITH_AS(mse_loss(p, Var(Tensor<double>{1.0, 2.0})), doctest::Contains("(2, 2)"), ShapeError);
}

TEST_CASE("nll_loss and cross_entropy by hand") {
    const Tensor<double> logits = {{1.0, 2.0, 0.5}, {0.0, -1.0, 3.0}};
    const std::vector<std::size_t> labels = {1, 2};
    CHECK(nll_loss(Var(logits), labels).item() == doctest::Approx(-(2.0 + 3.0) / 2));
    double expected = 0;
    for (std::size_t i = 0; i < 2; ++i) {
        double z = 0;
        for (std::size_t k = 0; k < 3; ++k) z += std::exp(logits(i, k));
        expected += std::log(z) - logits(i, labels[i]);
    }
    CHECK(cross_entropy(Var(logits), labels).item() == doctest::Approx(expected / 2).epsilon(1e-14));
    // The gradient of cross-entropy is (softmax - onehot) / N.
    Var x(logits, true);
    backward(cross_entropy(x, labels));
    const double z0 = std::exp(1.0) + std::exp(2.0) + std::exp(0.5);
    CHECK(x.grad().value<double>()(0, 1) == doctest::Approx((std::exp(2.0) / z0 - 1.0) / 2));
    CHECK(x.grad().value<double>()(0, 0) == doctest::Approx(std::exp(1.0) / z0 / 2));
}

TEST_CASE("nll_loss rejects labels out of range, naming the index and the label") {
    const Var lp = zeros({3, 4});
    CHECK_THROWS_WITH_AS(nll_loss(lp, {0, 3, 7}), doctest::Contains("label 7 at index 2 is out of range for 4 classes"),
                         ValueError);
    CHECK_THROWS_WITH_AS(nll_loss(lp, {0, 1}), doctest::Contains("2 labels for log_probs of shape (3, 4)"), ShapeError);
    CHECK_THROWS_AS(cross_entropy(zeros({3}), {0, 1, 2}), ShapeError);
}

TEST_CASE("gaussian_log_density is log N(z; 0, I) per sample") {
    const Var z(Tensor<double>{{{0.0, 1.0}, {2.0, -1.0}}, {{0.0, 0.0}, {0.0, 0.0}}});
    const Var lp = gaussian_log_density(z);
    REQUIRE(lp.shape() == Shape{2});
    const double c = -2.0 * std::log(2.0 * std::numbers::pi);  // -(D/2) log 2π with D = 4
    CHECK(lp.value<double>()(0) == doctest::Approx(-0.5 * 6.0 + c));
    CHECK(lp.value<double>()(1) == doctest::Approx(c));
    CHECK(gaussian_log_density(Var(Tensor<double>{1.0, 0.0})).value<double>()(0) ==
          doctest::Approx(-0.5 - 0.5 * std::log(2.0 * std::numbers::pi)));
}
