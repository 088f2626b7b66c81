// Anomaly mode (DetectAnomalyGuard) and graph_leaves.
#include <doctest/doctest.h>

#include <limits>

#include "odenet/autodiff.hpp"

using namespace odenet;

TEST_CASE("anomaly mode names the first op whose forward produced a non-finite value") {
    const Var x(Tensor<double>{1.0, -2.0}, true);
    CHECK(std::isnan(log(x).value<double>()(1)));  // off: a quiet NaN, as before
    DetectAnomalyGuard anomaly;
    CHECK(AnomalyMode::enabled());
    CHECK_THROWS_WITH_AS(log(x), doctest::Contains("the forward of 'log' produced nan at flat index 1 of shape (2)"),
                         GraphError);
    CHECK_THROWS_WITH_AS(log(x), doctest::Contains("its inputs were finite, so this op produced it"), GraphError);
    const Var bad(Tensor<double>{std::numeric_limits<double>::infinity(), 1.0});
    CHECK_THROWS_WITH_AS(exp(bad), doctest::Contains("input 0 was already non-finite"), GraphError);
}

TEST_CASE("anomaly mode names the first op whose backward produced a non-finite gradient") {
    const Var x(Tensor<double>{0.0, 4.0}, true);
    Var y = sum(sqrt(x));  // finite forward; d sqrt/dx = inf at 0
    {
        DetectAnomalyGuard anomaly;
        CHECK_THROWS_WITH_AS(backward(y, Var(), {.retain_graph = true}),
                             doctest::Contains("the backward of 'sqrt' produced inf at flat index 0"), GraphError);
    }
    CHECK_FALSE(AnomalyMode::enabled());  // the guard restored the previous state
    backward(y);                           // off: the inf reaches the gradient quietly
    CHECK(std::isinf(x.grad().value<double>()(0)));
}

TEST_CASE("graph_leaves lists the trainable leaves a result depends on, each once") {
    const Var a(Tensor<double>{1.0, 2.0}, true), b(Tensor<double>(Shape{1, 1}, 3.0), true), c(Tensor<double>{5.0, 6.0});
    const Var out = sum(a * a + b) + sum(c * a);
    const std::vector<LeafRef> leaves = graph_leaves({out});
    REQUIRE(leaves.size() == 2);
    CHECK(((leaves[0].impl == a.impl() && leaves[1].impl == b.impl()) ||
           (leaves[0].impl == b.impl() && leaves[1].impl == a.impl())));
    CHECK(graph_leaves({c}).empty());
    CHECK(graph_leaves({a}).size() == 1);  // a leaf is its own leaf
}
