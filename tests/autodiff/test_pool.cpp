// avg_pool2d values and errors. Its derivatives are checked by the registry rows.
#include <doctest/doctest.h>

#include "odenet/autodiff.hpp"

using namespace odenet;

TEST_CASE("avg_pool2d averages each window") {
    Tensor<double> t = Tensor<double>::from_shape({1, 1, 4, 4});
    for (std::size_t i = 0; i < 16; ++i) t.data()[i] = double(i);
    const Var y = avg_pool2d(Var(t), 2, 2);
    REQUIRE(y.shape() == Shape{1, 1, 2, 2});
    // Window (0, 0) holds 0, 1, 4, 5; the others shift by 2 and 8.
    CHECK(y.value<double>()(0, 0, 0, 0) == doctest::Approx(2.5));
    CHECK(y.value<double>()(0, 0, 0, 1) == doctest::Approx(4.5));
    CHECK(y.value<double>()(0, 0, 1, 0) == doctest::Approx(10.5));
    CHECK(y.value<double>()(0, 0, 1, 1) == doctest::Approx(12.5));
    // Overlapping windows (kernel 3, stride 1): the middle of a 4x4 ramp.
    const Var z = avg_pool2d(Var(t), 3, 1);
    REQUIRE(z.shape() == Shape{1, 1, 2, 2});
    CHECK(z.value<double>()(0, 0, 0, 0) == doctest::Approx(5.0));
    CHECK(z.value<double>()(0, 0, 1, 1) == doctest::Approx(10.0));
}

TEST_CASE("avg_pool2d's gradient counts how many windows cover each entry") {
    Var x = zeros({1, 1, 4, 4}, Dtype::float64, true);
    backward(sum(avg_pool2d(x, 3, 1)));
    // Corner: one window; edge middle: two; centre: four. Each contributes 1/9.
    CHECK(x.grad().value<double>()(0, 0, 0, 0) == doctest::Approx(1.0 / 9));
    CHECK(x.grad().value<double>()(0, 0, 0, 1) == doctest::Approx(2.0 / 9));
    CHECK(x.grad().value<double>()(0, 0, 1, 1) == doctest::Approx(4.0 / 9));
}

TEST_CASE("avg_pool2d errors") {
    CHECK_THROWS_WITH_AS(avg_pool2d(zeros({1, 1, 2, 2}), 3, 1), doctest::Contains("kernel 3 does not fit input (1, 1, 2, 2)"),
                         ShapeError);
    CHECK_THROWS_AS(avg_pool2d(zeros({1, 4, 4}), 2, 2), ShapeError);
    CHECK_THROWS_AS(avg_pool2d(zeros({1, 1, 4, 4}), 2, 0), ShapeError);
}
