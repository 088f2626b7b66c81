// concat, stack, slice, index_select and index_add: values, the errors users meet, and a concat
// of more inputs than the engine's 32-bit `needs` mask covers.
#include <doctest/doctest.h>

#include "odenet/autodiff.hpp"

using namespace odenet;

namespace {
// start, start + 1, ... in `shape`. Not named arange: odenet::iota(start, stop) would win
// overload resolution for a call like iota({2}, 5).
Var iota(const Shape& shape, double start = 0.0) {
    Tensor<double> t = Tensor<double>::from_shape(shape);
    for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = start + double(i);
    return Var(std::move(t));
}
std::vector<double> values(const Var& v) {
    const auto& t = v.value<double>();
    return std::vector<double>(t.data(), t.data() + t.size());
}
}  // namespace

TEST_CASE("concat and stack place their inputs in order") {
    const Var a = iota({2, 1}), b = iota({2, 2}, 10);
    const Var c = concat({a, b}, 1);
    CHECK(c.shape() == Shape{2, 3});
    CHECK(values(c) == std::vector<double>{0, 10, 11, 1, 12, 13});
    const Var s = stack({iota({2}), iota({2}, 5)}, 1);
    CHECK(s.shape() == Shape{2, 2});
    CHECK(values(s) == std::vector<double>{0, 5, 1, 6});
    CHECK(stack({iota({2}), iota({2}, 5)}, -1).shape() == Shape{2, 2});
    CHECK(stack({iota({2}), iota({2}, 5)}).shape() == Shape{2, 2});
}

TEST_CASE("slice and index_select pick entries; index_add puts them back") {
    const Var x = iota({2, 5});
    CHECK(values(slice(x, 1, 1, 5, 2)) == std::vector<double>{1, 3, 6, 8});
    CHECK(values(slice(x, -1, 2, 3)) == std::vector<double>{2, 7});
    CHECK(slice(x, 1, 3, 3).shape() == Shape{2, 0});
    CHECK(values(index_select(x, 0, {1, 1, 0})) == std::vector<double>{5, 6, 7, 8, 9, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4});
    CHECK(values(index_add(iota({3}, 1), 0, {2, 0, 2}, 4)) == std::vector<double>{2, 0, 4, 0});
}

TEST_CASE("repeated indices add their gradients") {
    Var x(Tensor<double>{1.0, 2.0, 3.0}, true);
    backward(sum(index_select(x, 0, {2, 2, 0, 2})));
    CHECK(values(x.grad()) == std::vector<double>{1, 0, 3});
}

TEST_CASE("concat of more than 32 inputs differentiates every one") {
    // The engine's per-node `needs` mask has 32 bits; inputs beyond it must still get gradients.
    std::vector<Var> xs;
    for (int i = 0; i < 40; ++i) xs.push_back(Var(Tensor<double>{double(i)}, true));
    Var y = concat(xs, 0);
    backward(sum(y * iota({40})));
    for (int i = 0; i < 40; ++i) {
        REQUIRE(xs[i].grad().defined());
        CHECK(xs[i].grad().item() == double(i));
    }
}

TEST_CASE("index ops name the shapes and ranges they reject") {
    const Var x = zeros({2, 3});
    SUBCASE("concat with a mismatched extent") {
        CHECK_THROWS_WITH_AS(concat({x, zeros({2, 3}), zeros({3, 4})}, 1),
                             doctest::Contains("tensor 0 has shape (2, 3) but tensor 2 has shape (3, 4)"), ShapeError);
    }
    SUBCASE("concat of different ranks") { CHECK_THROWS_AS(concat({x, zeros({2, 3, 1})}, 0), ShapeError); }
    SUBCASE("concat of nothing") { CHECK_THROWS_AS(concat({}, 0), ShapeError); }
    SUBCASE("concat axis out of range") { CHECK_THROWS_AS(concat({x, x}, 2), ShapeError); }
    SUBCASE("concat of mixed dtypes") { CHECK_THROWS_AS(concat({x, zeros({2, 3}, Dtype::float32)}, 0), DtypeError); }
    SUBCASE("stack of different shapes") {
        CHECK_THROWS_WITH_AS(stack({x, zeros({3, 2})}), doctest::Contains("(2, 3)"), ShapeError);
    }
    SUBCASE("slice past the end") {
        CHECK_THROWS_WITH_AS(slice(x, 1, 1, 4), doctest::Contains("range [1, 4) step 1 does not fit axis 1 of extent 3"),
                             ShapeError);
    }
    SUBCASE("slice with start > stop or step 0") {
        CHECK_THROWS_AS(slice(x, 1, 2, 1), ShapeError);
        CHECK_THROWS_AS(slice(x, 1, 0, 2, 0), ShapeError);
    }
    SUBCASE("index_select out of range") {
        CHECK_THROWS_WITH_AS(index_select(x, 0, {0, 2}), doctest::Contains("index 2 (position 1) is out of range"),
                             ShapeError);
    }
}
