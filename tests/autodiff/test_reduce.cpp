// Reductions over empty input. sum of nothing is 0, as in mathematics. A mean of nothing is
// 0/0: PyTorch returns NaN, odenet throws ValueError naming the op, the axes and the shape, so
// an empty batch cannot give a loss of 0 (what mean returned before) and a silent step.
#include <doctest/doctest.h>

#include "odenet/autodiff.hpp"

using namespace odenet;

TEST_CASE("mean of an empty tensor or over an empty axis is a ValueError") {
    CHECK_THROWS_WITH_AS(mean(zeros({0})), "mean: axes {0} of a tensor of shape (0) hold 0 elements: nothing to average",
                         ValueError);
    CHECK_THROWS_WITH_AS(mean(zeros({0, 3}), {0}),
                         "mean: axes {0} of a tensor of shape (0, 3) hold 0 elements: nothing to average", ValueError);
    CHECK_THROWS_WITH_AS(mean(zeros({2, 0, 4}), {-2, 2}, true),
                         "mean: axes {-2, 2} of a tensor of shape (2, 0, 4) hold 0 elements: nothing to average",
                         ValueError);
    CHECK_THROWS_AS(mean(zeros({0}, Dtype::float32)), ValueError);
}

TEST_CASE("mean of empty input where no entry averages nothing") {
    // Reducing a non-empty axis of an empty tensor: an empty result, no 0/0 anywhere.
    CHECK(mean(zeros({0, 3}), {1}).shape() == Shape{0});
    // Both axes empty and reduced over one of them: the result has no entries either.
    CHECK(mean(zeros({0, 0}), {1}).shape() == Shape{0});
    // An empty list of axes reduces nothing.
    CHECK(mean(zeros({0, 3}), {}).shape() == Shape{0, 3});
    // The mean of a scalar is the scalar.
    CHECK(mean(full({}, 2.5)).item() == 2.5);
}

TEST_CASE("sum of empty input is 0, and its gradient is empty") {
    const Var x = zeros({0, 3}, Dtype::float64, true);
    const Var s = sum(x);
    CHECK(s.item() == 0.0);
    CHECK(sum(x, {0}).shape() == Shape{3});
    backward(s);
    CHECK(x.grad().shape() == Shape{0, 3});
}
