#include <doctest/doctest.h>

#include <iterator>
#include <string>

#include "odenet/core/error.hpp"
#include "odenet/ode/tableau.hpp"

using namespace odenet;
using namespace odenet::ode;

TEST_CASE("every tableau passes validate()") {
    for (Method m : all_methods()) {
        CAPTURE(std::string(method_name(m)));
        const ButcherTableau& t = tableau(m);
        CHECK_NOTHROW(validate(t));
        CHECK(t.name == method_name(m));
        CHECK(method_from_name(t.name) == m);
    }
}

TEST_CASE("FSAL is derived from the numbers") {
    CHECK(tableau(Method::dopri5).fsal());
    CHECK(tableau(Method::tsit5).fsal());
    CHECK(tableau(Method::bosh3).fsal());
    CHECK_FALSE(tableau(Method::rk4).fsal());
    CHECK_FALSE(tableau(Method::fehlberg2).fsal());  // its last row is b_hat, not b
    CHECK_FALSE(tableau(Method::dop853).fsal());
}

TEST_CASE("orders and dense-output orders are as published") {
    struct Row { Method m; int order, error_order, dense_order; };
    const Row rows[] = {{Method::euler, 1, 0, 3},  {Method::midpoint, 2, 0, 3}, {Method::heun, 2, 0, 3},
                        {Method::rk4, 4, 0, 3},    {Method::rk4_38, 4, 0, 3},   {Method::bosh3, 3, 2, 3},
                        {Method::fehlberg2, 2, 1, 3}, {Method::dopri5, 5, 4, 4}, {Method::tsit5, 5, 4, 4},
                        {Method::dop853, 8, 5, 7}};
    // The published orders are the independent fact: a method added to the registry needs its row.
    REQUIRE(std::size(rows) == all_methods().size());
    for (const auto& r : rows) {
        CAPTURE(std::string(method_name(r.m)));
        CHECK(tableau(r.m).order == r.order);
        CHECK(tableau(r.m).error_order == r.error_order);
        CHECK(tableau(r.m).dense.order == r.dense_order);
    }
}

TEST_CASE("validate() rejects a broken tableau, naming the identity") {
    ButcherTableau t = tableau(Method::rk4);
    t.a[2][1] = 0.6;  // row 2 no longer sums to c_2 = 0.5
    CHECK_THROWS_WITH_AS(validate(t), doctest::Contains("row 2 of a does not sum to c_2"), ValueError);
    t = tableau(Method::dopri5);
    t.b_err[0] += 1e-6;
    CHECK_THROWS_WITH_AS(validate(t), doctest::Contains("sum of b_err is not 0"), ValueError);
    t = tableau(Method::heun);
    t.b = {0.5, 0.6};
    CHECK_THROWS_WITH_AS(validate(t), doctest::Contains("sum of b is not 1"), ValueError);
}

TEST_CASE("method_from_name lists the valid names") {
    CHECK_THROWS_WITH_AS(method_from_name("rk45"), doctest::Contains("valid names: euler, midpoint"), ValueError);
    CHECK_THROWS_WITH_AS(method_from_name("rk45"), doctest::Contains("dop853"), ValueError);
}
