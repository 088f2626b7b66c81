// The standard normal log-density against hand computations. Derivatives: registry rows.
// (The losses are nn::functional's: tests/nn/test_loss.cpp.)
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

#include "odenet/autodiff.hpp"

using namespace odenet;

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
