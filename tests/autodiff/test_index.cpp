// concat, stack, slice, index_select, index_add, gather and scatter_add: values, the errors users
// meet, and a concat of more inputs than the engine's 32-bit `needs` mask covers.
#include <doctest/doctest.h>

#include <algorithm>

#include "odenet/autodiff.hpp"

using namespace odenet;

namespace {
// start, start + 1, ... in `shape`. Not named arange: odenet::arange(start, stop) would win
// overload resolution for a call like arange({2}, 5).
Var iota(const Shape& shape, double start = 0.0) {
    Tensor<double> t = Tensor<double>::from_shape(shape);
    for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = start + double(i);
    return Var(std::move(t));
}
// An index of `shape` from row-major entries: index_of({2, 1}, {1, 2}) is ambiguous in xtensor
// (a column of one-element lists also reads as a 1-D list).
IndexTensor index_of(const Shape& shape, std::initializer_list<std::size_t> entries) {
    IndexTensor t = IndexTensor::from_shape(shape);
    std::copy(entries.begin(), entries.end(), t.begin());
    return t;
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

TEST_CASE("gather picks one entry per index element along the axis") {
    const Var x = iota({2, 3});  // [[0, 1, 2], [3, 4, 5]]
    // out[i][j] = x[i][index[i][j]]
    const Var a = gather(x, 1, IndexTensor{{2, 0, 2}, {1, 1, 0}});
    CHECK(a.shape() == Shape{2, 3});
    CHECK(values(a) == std::vector<double>{2, 0, 2, 4, 4, 3});
    CHECK(values(gather(x, -1, index_of({2, 1}, {1, 2}))) == std::vector<double>{1, 5});
    // out[i][j] = x[index[i][j]][j]; index may be longer than x on the gather axis
    CHECK(values(gather(x, 0, IndexTensor{{1, 0, 1}, {0, 0, 1}, {1, 1, 1}})) ==
          std::vector<double>{3, 1, 5, 0, 1, 5, 3, 4, 5});
    CHECK(gather(x, 1, IndexTensor::from_shape({2, 0})).shape() == Shape{2, 0});
    CHECK(gather(zeros({2, 3}, Dtype::float32), 0, IndexTensor{{0, 0, 0}}).dtype() == Dtype::float32);
}

TEST_CASE("scatter_add adds src into a copy of x; repeats add") {
    const Var x = iota({2, 3});
    const Var src(Tensor<double>{{10, 20}, {30, 40}});
    // row 0: 10 and 20 both into column 2; row 1: 30 into column 0, 40 into column 1
    const Var y = scatter_add(x, 1, IndexTensor{{2, 2}, {0, 1}}, src);
    CHECK(values(y) == std::vector<double>{0, 1, 32, 33, 44, 5});
    CHECK(values(x) == std::vector<double>{0, 1, 2, 3, 4, 5});  // x itself untouched
    CHECK(values(scatter_add(zeros({3}), 0, IndexTensor{2, 0, 2}, Var(Tensor<double>{1, 2, 4}))) ==
          std::vector<double>{2, 0, 5});
}

TEST_CASE("gather and scatter_add gradients, by hand") {
    SUBCASE("gather: each picked entry gets its output's gradient, repeats adding") {
        Var x(iota({2, 3}).value().clone(), true);
        const Var w(Tensor<double>{{1, 2, 3}, {4, 5, 6}});
        backward(sum(gather(x, 1, IndexTensor{{2, 0, 2}, {1, 1, 1}}) * w));
        CHECK(values(x.grad()) == std::vector<double>{2, 0, 4, 0, 15, 0});
    }
    SUBCASE("scatter_add: x gets g, src gets g at its target") {
        Var x(iota({2, 3}).value().clone(), true);
        Var src(Tensor<double>{{10, 20}, {30, 40}}, true);
        const Var w(Tensor<double>{{1, 2, 3}, {4, 5, 6}});
        backward(sum(scatter_add(x, 1, IndexTensor{{2, 2}, {0, 1}}, src) * w));
        CHECK(values(x.grad()) == std::vector<double>{1, 2, 3, 4, 5, 6});
        CHECK(values(src.grad()) == std::vector<double>{3, 3, 4, 5});
    }
    SUBCASE("second order: d/dx of the gradient of gather(x^2) is 2 g at each pick") {
        // f = Σ w ⊙ gather(x², idx): df/dx = 2 x ⊙ c with c = counts weighted by w, so the
        // gradient of Σ df/dx is 2 c.
        Var x(Tensor<double>{1.0, 2.0, 3.0}, true);
        const Var f = sum(gather(square(x), 0, IndexTensor{2, 0, 2, 2}) * Var(Tensor<double>{1, 2, 3, 4}));
        const Var dx = grad(f, x, Var(), {.create_graph = true});
        CHECK(values(dx) == std::vector<double>{2 * 1 * 2, 0, 2 * 3 * 8});
        const Var ddx = grad(sum(dx), x);
        CHECK(values(ddx) == std::vector<double>{4, 0, 16});
    }
}

TEST_CASE("gather and scatter_add name the index, axis and shape they reject") {
    const Var x = zeros({2, 3});
    SUBCASE("gather index out of range") {
        CHECK_THROWS_WITH_AS(gather(x, 1, IndexTensor{{0, 1}, {3, 0}}),
                             "gather: index 3 at position (1, 0) is out of range for axis 1 of extent 3 in x's "
                             "shape (2, 3)",
                             ShapeError);
    }
    SUBCASE("gather index of another rank") {
        CHECK_THROWS_WITH_AS(gather(x, 0, IndexTensor{0, 1}),
                             doctest::Contains("index has shape (2) but x has shape (2, 3); they must have the "
                                               "same rank"),
                             ShapeError);
    }
    SUBCASE("gather index with another extent off the axis") {
        CHECK_THROWS_WITH_AS(gather(x, 1, index_of({3, 1}, {0, 1, 2})),
                             doctest::Contains("equal extents on every axis but axis 1"), ShapeError);
    }
    SUBCASE("gather axis out of range") { CHECK_THROWS_AS(gather(x, 2, IndexTensor{{0, 0, 0}}), ShapeError); }
    SUBCASE("scatter_add index out of range, negative axis") {
        CHECK_THROWS_WITH_AS(scatter_add(x, -2, IndexTensor{{0, 2, 1}}, zeros({1, 3})),
                             doctest::Contains("index 2 at position (0, 1) is out of range for axis 0 of extent 2"),
                             ShapeError);
    }
    SUBCASE("scatter_add src not of index's shape") {
        CHECK_THROWS_WITH_AS(scatter_add(x, 1, index_of({2, 1}, {0, 1}), zeros({2, 2})),
                             doctest::Contains("index has shape (2, 1) but src has shape (2, 2)"), ShapeError);
    }
    SUBCASE("scatter_add of mixed dtypes") {
        CHECK_THROWS_AS(scatter_add(x, 1, index_of({2, 1}, {0, 1}), zeros({2, 1}, Dtype::float32)), DtypeError);
    }
}
