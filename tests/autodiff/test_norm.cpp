// group_norm against hand computations. Its derivatives are checked by the registry rows.
#include <doctest/doctest.h>

#include <cmath>

#include "odenet/autodiff.hpp"
#include "odenet/core/random.hpp"

using namespace odenet;

TEST_CASE("group_norm by hand: two groups of two channels, with weight and bias") {
    // Group 0 holds {1, 2, 3, 4}: mean 2.5, biased variance 1.25. Group 1 holds {0, 0, 6, -6}:
    // mean 0, variance 18.
    Tensor<double> x = {{{1.0, 2.0}, {3.0, 4.0}, {0.0, 0.0}, {6.0, -6.0}}};
    const double eps = 1e-5;
    const Var y = group_norm(Var(x), 2, Var(Tensor<double>{1.0, 2.0, 3.0, 4.0}), Var(Tensor<double>{0.0, 0.0, 1.0, -1.0}), eps);
    REQUIRE(y.shape() == Shape{1, 4, 2});
    const double s0 = std::sqrt(1.25 + eps), s1 = std::sqrt(18.0 + eps);
    const double expected[4][2] = {{-1.5 / s0, -0.5 / s0},
                                   {2 * 0.5 / s0, 2 * 1.5 / s0},
                                   {1.0, 1.0},
                                   {4 * 6.0 / s1 - 1.0, 4 * -6.0 / s1 - 1.0}};
    for (std::size_t c = 0; c < 4; ++c)
        for (std::size_t k = 0; k < 2; ++k) CHECK(y.value<double>()(0, c, k) == doctest::Approx(expected[c][k]).epsilon(1e-14));
}

TEST_CASE("group_norm matches loops over (N, C, H, W), float64 and float32") {
    Generator gen(21);
    const std::size_t n = 2, c = 6, hw = 9, groups = 3;
    const Tensor<double> x = randn<double>({n, c, 3, 3}, gen) * 2.0 + 1.0;
    const Tensor<double> w = randn<double>({c}, gen), b = randn<double>({c}, gen);
    const Var y = group_norm(Var(x), groups, Var(w), Var(b), 1e-5);
    const Var y32 = group_norm(to_dtype(Var(x), Dtype::float32), groups, to_dtype(Var(w), Dtype::float32),
                               to_dtype(Var(b), Dtype::float32), 1e-5);
    const std::size_t per = c / groups * hw;
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t g = 0; g < groups; ++g) {
            const double* block = x.data() + (i * c + g * c / groups) * hw;
            double mu = 0, var = 0;
            for (std::size_t k = 0; k < per; ++k) mu += block[k] / double(per);
            for (std::size_t k = 0; k < per; ++k) var += (block[k] - mu) * (block[k] - mu) / double(per);
            for (std::size_t k = 0; k < per; ++k) {
                const std::size_t ch = g * c / groups + k / hw;
                const double want = (block[k] - mu) / std::sqrt(var + 1e-5) * w(ch) + b(ch);
                const std::size_t flat = (i * c + g * c / groups) * hw + k;
                CHECK(y.value<double>().data()[flat] == doctest::Approx(want).epsilon(1e-12));
                // float32: relative rounding ~1e-7 through a handful of ops on O(1) values.
                CHECK(y32.value<float>().data()[flat] == doctest::Approx(want).epsilon(1e-5));
            }
        }
    }
}

TEST_CASE("group_norm errors") {
    CHECK_THROWS_WITH_AS(group_norm(zeros({2, 6, 3}), 4, Var(), Var()), doctest::Contains("not divisible into 4 groups"),
                         ShapeError);
    CHECK_THROWS_AS(group_norm(zeros({2, 6, 3}), 0, Var(), Var()), ShapeError);
    CHECK_THROWS_WITH_AS(group_norm(zeros({2, 6, 3}), 3, zeros({3}), Var()), doctest::Contains("weight has shape (3)"),
                         ShapeError);
    CHECK_THROWS_AS(group_norm(zeros({6}), 3, Var(), Var()), ShapeError);
}
