#include <doctest/doctest.h>

#include <xtensor/xbuilder.hpp>
#include <xtensor/xrandom.hpp>
#include <xtensor/xview.hpp>

#include "odenet/core/error.hpp"
#include "odenet/core/shape.hpp"

using namespace odenet;

TEST_CASE("broadcast_shape follows NumPy's rules") {
    CHECK(broadcast_shape({3, 1, 4}, {2, 4}) == Shape{3, 2, 4});
    CHECK(broadcast_shape({}, {2, 3}) == Shape{2, 3});
    CHECK(broadcast_shape({5, 1}, {1, 6}) == Shape{5, 6});
    CHECK(broadcast_shape({0, 1}, {1, 3}) == Shape{0, 3});
    CHECK_THROWS_AS(broadcast_shape({3, 4}, {2, 4}), ShapeError);
}

TEST_CASE("broadcast_shape names the operation and both shapes") {
    try {
        broadcast_shape({3, 4}, {2, 5}, "add");
        FAIL("expected a ShapeError");
    } catch (const ShapeError& e) {
        const std::string what = e.what();
        CHECK(what.find("add") == 0);
        CHECK(what.find("(3, 4)") != std::string::npos);
        CHECK(what.find("(2, 5)") != std::string::npos);
    }
}

TEST_CASE("broadcastable_to") {
    CHECK(broadcastable_to({1, 4}, {3, 4}));
    CHECK(broadcastable_to({}, {3, 4}));
    CHECK(broadcastable_to({4}, {2, 3, 4}));
    CHECK_FALSE(broadcastable_to({3, 4}, {4}));
    CHECK_FALSE(broadcastable_to({2, 4}, {3, 4}));
}

TEST_CASE_TEMPLATE("sum_to folds a broadcast gradient back", T, float, double) {
    // g has shape (3, 2, 4); x had shape (2, 1): sum over axis 0 and axis 2.
    Tensor<T> g = xt::arange<T>(24);
    g.reshape({3, 2, 4});
    const Tensor<T> s = sum_to(g, Shape{2, 1});
    REQUIRE(s.shape() == Shape{2, 1});
    T expected0 = 0, expected1 = 0;
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t k = 0; k < 4; ++k) {
            expected0 += g(i, 0, k);
            expected1 += g(i, 1, k);
        }
    CHECK(s(0, 0) == doctest::Approx(expected0));
    CHECK(s(1, 0) == doctest::Approx(expected1));

    CHECK(sum_to(g, Shape{}).shape() == Shape{});
    CHECK(sum_to(g, Shape{}).flat(0) == doctest::Approx(276.0));  // 0 + 1 + ... + 23
    CHECK(sum_to(g, g.shape()) == g);
    CHECK_THROWS_AS(sum_to(g, Shape{3}), ShapeError);
}

TEST_CASE("sum_to is the adjoint of broadcasting: <broadcast(x), g> == <x, sum_to(g)>") {
    const Tensor<double> x = xt::random::randn<double>({3, 1, 4});
    const Tensor<double> g = xt::random::randn<double>({2, 3, 5, 4});
    const Tensor<double> bx = xt::broadcast(x, g.shape());
    const double lhs = xt::sum(bx * g)();
    const double rhs = xt::sum(x * sum_to(g, x.shape()))();
    CHECK(lhs == doctest::Approx(rhs).epsilon(1e-12));
}

TEST_CASE("check_finite names the first bad entry") {
    Tensor<double> x = xt::zeros<double>({2, 3});
    CHECK_NOTHROW(check_finite(x, "solve"));
    x(1, 2) = std::numeric_limits<double>::quiet_NaN();
    try {
        check_finite(x, "solve");
        FAIL("expected a ValueError");
    } catch (const ValueError& e) {
        const std::string what = e.what();
        CHECK(what.find("solve") == 0);
        CHECK(what.find("index 5") != std::string::npos);
        CHECK(what.find("(2, 3)") != std::string::npos);
    }
    Tensor<float> y = {1.0f, std::numeric_limits<float>::infinity()};
    CHECK_THROWS_AS(check_finite(y, "f"), ValueError);
}

TEST_CASE("shape_str and numel") {
    CHECK(shape_str({}) == "()");
    CHECK(shape_str({3, 1, 4}) == "(3, 1, 4)");
    CHECK(numel({}) == 1);
    CHECK(numel({3, 0}) == 0);
    CHECK(numel({3, 1, 4}) == 12);
}
