// GradOptions::on_leaf_done: each leaf is reported once, as soon as its gradient is final and
// before the backward pass has finished (what data-parallel training overlaps its sends with).
#include <doctest/doctest.h>

#include <vector>

#include "odenet/autodiff/engine.hpp"
#include "odenet/autodiff/ops.hpp"

using namespace odenet;

TEST_CASE("on_leaf_done reports each leaf once, with its final gradient, before later leaves' work") {
    Var w1(Tensor<double>{1.5, -2.0}, true), w2(Tensor<double>{0.5, 3.0}, true), w3(Tensor<double>{2.0}, true);
    Var unused(Tensor<double>{7.0}, true);
    // w1 feeds the first layer, w2 the second and the output, w3 only the output: backward
    // finishes w3 first and w1 last.
    Var h1 = tanh(w1 * Var(Tensor<double>{0.3, 0.7}));
    Var h2 = tanh(h1 * w2);
    Var loss = sum(h2 * w3) + sum(w2 * w2);
    std::vector<const VarImpl*> order;
    std::vector<double> seen_grad;
    backward(loss, Var(), {.on_leaf_done = [&](const VarImpl* leaf) {
                               order.push_back(leaf);
                               const Var* v = leaf == w1.impl() ? &w1 : leaf == w2.impl() ? &w2 : &w3;
                               seen_grad.push_back(v->grad().value<double>()(0));
                           }});
    REQUIRE(order.size() == 3);  // the unused leaf is not reported
    CHECK(order[0] == w3.impl());
    CHECK(order[2] == w1.impl());
    CHECK(order[1] == w2.impl());
    // The gradient a leaf had when reported is its final one.
    CHECK(seen_grad[0] == w3.grad().value<double>()(0));
    CHECK(seen_grad[1] == w2.grad().value<double>()(0));
    CHECK(seen_grad[2] == w1.grad().value<double>()(0));
    CHECK_FALSE(unused.grad().defined());
}

TEST_CASE("on_leaf_done: a loss that is itself a leaf is reported; grad() ignores the hook") {
    Var x(Tensor<double>{2.0}, true);
    int calls = 0;
    backward(sum(x), Var(), {.on_leaf_done = [&](const VarImpl*) { ++calls; }});
    CHECK(calls == 1);
    Var leaf_loss = Var::scalar(3.0, Dtype::float64, true);
    backward(leaf_loss, Var(), {.on_leaf_done = [&](const VarImpl* leaf) { calls += leaf == leaf_loss.impl() ? 10 : 100; }});
    CHECK(calls == 11);
    Var y(Tensor<double>{1.0}, true);
    grad(sum(y * y), y, Var(), {.on_leaf_done = [&](const VarImpl*) { ++calls; }});
    CHECK(calls == 11);
}
