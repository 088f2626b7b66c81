// The engine: accumulation, retain_graph, no_grad, grad/vjp/hvp, higher order, long and shared
// graphs, threads, and the errors users meet.
#include <doctest/doctest.h>

#include <thread>

#include <xtensor/xmath.hpp>

#include "odenet/autodiff.hpp"
#include "odenet/autodiff/record.hpp"

using namespace odenet;

namespace {
Var leaf(std::initializer_list<double> values) { return Var(Tensor<double>(values), true); }
double at(const Var& v, std::size_t i) { return v.value().visit([&](const auto& t) { return double(t.data()[i]); }); }
}  // namespace

TEST_CASE("backward accumulates when a value is used twice") {
    Var x = leaf({2.0, -3.0});
    Var y = sum(x * x + x);  // dy/dx = 2x + 1
    backward(y);
    CHECK(at(x.grad(), 0) == doctest::Approx(5.0));
    CHECK(at(x.grad(), 1) == doctest::Approx(-5.0));
    // A second graph adds into the same grad until zero_grad.
    backward(sum(x * 3.0));
    CHECK(at(x.grad(), 0) == doctest::Approx(8.0));
    x.zero_grad();
    CHECK_FALSE(x.grad().defined());
}

TEST_CASE("backward twice needs retain_graph") {
    Var x = leaf({0.5});
    Var y = sum(tanh(x));
    backward(y, Var(), {.retain_graph = true});
    backward(y);  // allowed: the first call kept the graph
    CHECK(at(x.grad(), 0) == doctest::Approx(2.0 * (1.0 - std::tanh(0.5) * std::tanh(0.5))));
    try {
        backward(y);
        FAIL("expected a GraphError");
    } catch (const GraphError& e) {
        CHECK(std::string(e.what()).find("second time") != std::string::npos);
        CHECK(std::string(e.what()).find("retain_graph") != std::string::npos);
    }
}

TEST_CASE("errors name the problem") {
    Var x = leaf({1.0, 2.0});
    SUBCASE("non-scalar loss without grad_output") {
        try {
            backward(x * 2.0);
            FAIL("expected a GraphError");
        } catch (const GraphError& e) {
            CHECK(std::string(e.what()).find("(2)") != std::string::npos);
        }
    }
    SUBCASE("loss that does not require grad") { CHECK_THROWS_AS(backward(sum(x.detach())), GraphError); }
    SUBCASE("shape mismatch in an op") {
        Var y(Tensor<double>{1.0, 2.0, 3.0});
        try {
            add(x, y);
            FAIL("expected a ShapeError");
        } catch (const ShapeError& e) {
            CHECK(std::string(e.what()).find("add: shapes (2) and (3)") == 0);
        }
    }
    SUBCASE("mixed dtypes") { CHECK_THROWS_AS(x + Var(Tensor<float>{1.0f, 2.0f}), DtypeError); }
    SUBCASE("matmul inner dimensions") {
        CHECK_THROWS_WITH_AS(matmul(zeros({3, 4}), zeros({5, 2})), doctest::Contains("inner dimensions differ"), ShapeError);
    }
    SUBCASE("grad with respect to an unused input") {
        Var z = leaf({1.0});
        CHECK_THROWS_AS(grad(sum(x * 2.0), z), GraphError);
        CHECK(at(grad(sum(x * 2.0), z, Var(), {.allow_unused = true}), 0) == 0.0);
    }
}

TEST_CASE("no_grad records nothing; detach cuts the graph") {
    Var x = leaf({1.0});
    {
        NoGradGuard guard;
        Var y = x * 2.0;
        CHECK_FALSE(y.requires_grad());
        {
            EnableGradGuard nested;  // a recording scope inside no_grad, as vjp opens
            CHECK((x * 2.0).requires_grad());
        }
    }
    Var d = (x * 2.0).detach();
    CHECK_FALSE(d.requires_grad());
    CHECK(d.is_leaf());
}

TEST_CASE("grad leaves .grad untouched and returns gradients of non-leaves too") {
    Var x = leaf({1.5});
    Var h = x * x;      // dh/dx = 2x
    Var y = sum(h * h);  // dy/dh = 2h
    auto g = grad({y}, {x, h});
    CHECK(at(g[0], 0) == doctest::Approx(4.0 * 1.5 * 1.5 * 1.5));
    CHECK(at(g[1], 0) == doctest::Approx(2.0 * 2.25));
    CHECK_FALSE(x.grad().defined());
}

TEST_CASE("higher order: derivatives of x^3 up to the third") {
    Var x = leaf({0.7});
    Var y = sum(x * x * x);
    Var d1 = grad(y, x, Var(), {.create_graph = true});
    Var d2 = grad(sum(d1), x, Var(), {.create_graph = true});
    Var d3 = grad(sum(d2), x);
    CHECK(at(d1, 0) == doctest::Approx(3 * 0.49));
    CHECK(at(d2, 0) == doctest::Approx(6 * 0.7));
    CHECK(at(d3, 0) == doctest::Approx(6.0));
}

TEST_CASE("vjp and hvp") {
    Var x(Tensor<double>{0.3, -1.1, 2.0});
    Var v(Tensor<double>{1.0, 2.0, -1.0});
    auto [y, g] = vjp([](const Var& z) { return sin(z) * 2.0; }, x, v);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(at(y, i) == doctest::Approx(2 * std::sin(at(x, i))));
        CHECK(at(g, i) == doctest::Approx(2 * std::cos(at(x, i)) * at(v, i)));
    }
    CHECK_FALSE(x.requires_grad());  // the caller's Var is not modified
    // f = Σ x³: H = diag(6x), so Hv = 6 x v.
    auto [f, hv] = hvp([](const Var& z) { return sum(z * z * z); }, x, v);
    for (std::size_t i = 0; i < 3; ++i) CHECK(at(hv, i) == doctest::Approx(6 * at(x, i) * at(v, i)));
    CHECK(f.item() == doctest::Approx(0.027 - 1.331 + 8.0));
}

TEST_CASE("vjp inside a recorded function keeps the outer graph (what the CNF does)") {
    // g(θ) = vᵀ ∂(θ z²)/∂z = 2 θ z v; d g/dθ = 2 z v.
    Var theta = leaf({1.7});
    Var z(Tensor<double>{0.4});
    Var v(Tensor<double>{1.3});
    auto [y, vjz] = vjp([&](const Var& zz) { return theta * zz * zz; }, z, v, /*create_graph=*/true);
    backward(sum(vjz));
    CHECK(at(theta.grad(), 0) == doctest::Approx(2 * 0.4 * 1.3));
}

TEST_CASE("a 10^6-op chain is differentiated and destroyed without recursion") {
    Var x = leaf({1.0});
    Var y = x;
    const int n = 1000000;
    for (int i = 0; i < n; ++i) y = y * 1.0 + 1e-6;
    backward(sum(y));
    CHECK(at(x.grad(), 0) == doctest::Approx(1.0));
    y = Var();  // drops the whole chain: must not overflow the stack
    CHECK(at(x.grad(), 0) == doctest::Approx(1.0));
}

TEST_CASE("a value feeding many paths is differentiated once per node, not once per path") {
    // y_{k+1} = y_k + y_k, 60 times: 2^60 paths from the loss to x, 60 nodes.
    static int applications = 0;
    applications = 0;
    auto counted_double = [](const Var& a) {
        Value out = a.value().visit([](const auto& t) -> Value { return Tensor<double>(t * 2.0); });
        return record("counted_double", std::move(out), {&a}, [](const Var& gy, const BackwardContext&) -> Grads {
            ++applications;
            return {gy * 2.0};
        });
    };
    Var x = leaf({1.0});
    Var y = x;
    for (int k = 0; k < 30; ++k) {
        Var d = counted_double(y);
        y = d + d;  // two paths through every d
    }
    backward(sum(y));
    CHECK(applications == 30);
    CHECK(at(x.grad(), 0) == doctest::Approx(std::pow(4.0, 30)));
}

TEST_CASE("two threads build and differentiate their own graphs over shared leaves") {
    // Rule: a graph belongs to the thread that built it; graphs on different threads may share
    // leaves (their accumulation is locked) but not intermediate Vars. Here both threads' graphs
    // use the same leaves w and x, and backward accumulates into them from both at once.
    Var w(Tensor<double>{0.7}, true), x(Tensor<double>{0.3}, true);
    auto work = [](Var w, Var x, double start) {
        Var y(Tensor<double>{start});
        for (int i = 0; i < 20000; ++i) y = tanh(y * w) + x * 1e-3;
        backward(sum(y));
    };
    // One thread's contributions alone, then both threads together: each thread's graph is the
    // same computation, so the shared leaves get twice one thread's gradient. Each of the 20000
    // uses of a leaf adds its contribution to the leaf as backward reaches it, so the two threads'
    // 40000 additions interleave in some order: rounding differs by at most 40000 x 1.1e-16 =
    // 4.4e-12 relative, hence 1e-10.
    work(w, x, 0.3);
    const double w_once = w.grad().item(), x_once = x.grad().item();
    w.zero_grad();
    x.zero_grad();
    std::thread t1(work, w, x, 0.3), t2(work, w, x, 0.3);
    t1.join();
    t2.join();
    CHECK(w.grad().item() == doctest::Approx(2 * w_once).epsilon(1e-10));
    CHECK(x.grad().item() == doctest::Approx(2 * x_once).epsilon(1e-10));

    // Many small backward passes racing to accumulate into one shared leaf: integer gradients
    // add exactly in any order, so a lost update shows as a wrong total.
    // 4096 entries make each in-place addition long enough for the threads to overlap in it.
    Var shared(Tensor<double>(Shape{4096}, 0.0), true);
    auto accumulate = [](Var leaf, double k) {
        for (int i = 0; i < 10000; ++i) backward(sum(leaf * k));
    };
    std::thread a(accumulate, shared, 1.0), b(accumulate, shared, 2.0), c(accumulate, shared, 3.0);
    a.join();
    b.join();
    c.join();
    const auto& g = shared.grad().value<double>();
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < g.size(); ++i) wrong += g.data()[i] != 10000 * (1.0 + 2.0 + 3.0);
    CHECK(wrong == 0);
}

TEST_CASE("a leaf may die before the backward of a graph that used it") {
    Var kept = leaf({3.0});
    Var y;
    {
        Var temporary = leaf({2.0});
        y = sum(temporary * kept);
    }
    backward(y);  // the temporary's gradient has nowhere to go and is dropped
    CHECK(at(kept.grad(), 0) == doctest::Approx(2.0));
}

TEST_CASE("a leaf's accumulator does not keep the leaf alive") {
    // With create_graph, x.grad's graph reaches x's accumulator (through tanh's node, which saves
    // its output, not x). Were the accumulator to own x, x would hold itself in a cycle.
    // See Note [Leaf accumulators].
    Value x_value;
    {
        Var x = leaf({0.5, -1.0});
        x_value = x.value();
        backward(sum(tanh(x)), Var(), {.create_graph = true});
        CHECK(x.grad().requires_grad());
        CHECK(x_value.use_count() == 2);
    }
    CHECK(x_value.use_count() == 1);  // x is gone with its gradient's graph
}

TEST_CASE("gradients after nested grad() calls inside a backward (the engine's per-depth scratch)") {
    // A node whose backward runs grad() itself, as the adjoint does; the outer pass continues
    // with its own nodes after the inner one ends.
    auto nested = [](const Var& a) {
        return record("nested", Value(a.value()), {&a}, [a](const Var& gy, const BackwardContext&) -> Grads {
            EnableGradGuard recording;
            Var z = a.detach().set_requires_grad();
            Var dz = grad(sum(z * z * z), z);  // 3 z^2
            return {gy * dz.detach()};
        });
    };
    Var x = leaf({2.0});
    Var y = sum(nested(x * 1.0) * 2.0 + x);  // dy/dx = 2 * 3x^2 + 1
    backward(y);
    CHECK(at(x.grad(), 0) == doctest::Approx(25.0));
    backward(sum(nested(x) + nested(x)));  // again, after the scratch was used: 2 * 3x^2 more
    CHECK(at(x.grad(), 0) == doctest::Approx(49.0));
}

TEST_CASE("float32 works end to end") {
    Var x(Tensor<float>{0.5f, -0.25f}, true);
    Var y = sum(tanh(x) * x);
    backward(y);
    CHECK(x.grad().dtype() == Dtype::float32);
    const float t = std::tanh(0.5f);
    CHECK(at(x.grad(), 0) == doctest::Approx(t + 0.5f * (1 - t * t)).epsilon(1e-6));
}
