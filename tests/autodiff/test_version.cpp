// Version counters on saved Vars (PyTorch's): an in-place change to a value that a recorded op
// saved makes the backward throw, naming the op; changes to values nobody saved do not.
#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

#include "odenet/autodiff.hpp"

using namespace odenet;

namespace {
Var leaf(std::initializer_list<double> values) { return Var(Tensor<double>(values), true); }
double at(const Var& v, std::size_t i) { return v.value<double>().data()[i]; }

// The message of the GraphError that f throws ("" if it throws none).
std::string graph_error(const std::function<void()>& f) {
    try {
        f();
    } catch (const GraphError& e) {
        return e.what();
    }
    return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
}  // namespace

TEST_CASE("a leaf changed in place between forward and backward: an error naming the op, not a wrong gradient") {
    // The audit's case: d(x*x)/dx at x = 2 is 4; with x changed to 100 before the backward, the
    // formula gy * x would give 200.
    Var x = leaf({2.0});
    Var y = sum(x * x);
    x.mutable_value<double>()(0) = 100.0;
    const std::string msg = graph_error([&] { backward(y); });
    CHECK(contains(msg, "modified by an in-place operation"));
    CHECK(contains(msg, "'mul'"));
    CHECK(contains(msg, "input 1"));  // gy * b is unpacked first
    CHECK(contains(msg, "shape (1)"));
    CHECK(contains(msg, "version saved 0, now 1"));
    CHECK_FALSE(x.grad().defined());

    // A fresh forward saves the new value: 2 * 100.
    backward(sum(x * x));
    CHECK(at(x.grad(), 0) == doctest::Approx(200.0));
}

TEST_CASE("version(): counted per buffer, shared by detached copies, monotone across set_value") {
    Var x = leaf({1.0, 2.0});
    CHECK(x.version() == 0);
    x.mutable_value<double>()(0) = 3.0;
    CHECK(x.version() == 1);
    Var d = x.detach();  // shares the buffer, hence the counter
    CHECK(d.version() == 1);
    d.mutable_value<double>()(1) = 4.0;
    CHECK(x.version() == 2);
    CHECK(at(x, 1) == 4.0);
    x.set_value(Value(Tensor<double>{5.0}));  // a new buffer; the Var's count still goes up
    CHECK(x.version() == 3);
    CHECK(d.version() == 2);  // the old buffer is d's alone now
    x.mutable_value<double>()(0) = 6.0;
    CHECK(x.version() == 4);
    Value copy = x.value();  // a Value handle shares the buffer too
    copy.as_mutable<double>()(0) = 7.0;
    CHECK(x.version() == 5);
    CHECK(Var().version() == 0);
    CHECK(Value().version() == 0);
    Var fresh(x.value().clone(), true);  // a deep copy starts its own count
    CHECK(fresh.version() == 0);
}

TEST_CASE("every op that saves an input detects a change to it") {
    struct Case {
        const char* op;
        std::function<Var(const std::vector<Var>&)> f;
        std::vector<Shape> shapes;
        std::size_t changed;  // the input written in place
        const char* expected;  // "input i" in the message
    };
    const Conv2dOptions conv{};
    const std::vector<Case> cases{
        {"mul", [](const auto& v) { return v[0] * v[1]; }, {{3}, {3}}, 0, "input 0"},
        {"div", [](const auto& v) { return v[0] / v[1]; }, {{3}, {3}}, 1, "input 1"},
        {"pow", [](const auto& v) { return pow(v[0], v[1]); }, {{3}, {3}}, 1, "input 1"},
        {"log", [](const auto& v) { return log(v[0]); }, {{3}}, 0, "input 0"},
        {"relu", [](const auto& v) { return relu(v[0]); }, {{3}}, 0, "input 0"},
        {"gemm", [](const auto& v) { return matmul(v[0], v[1]); }, {{2, 3}, {3, 2}}, 1, "input 1"},
        {"conv2d", [conv](const auto& v) { return conv2d(v[0], v[1], Var(), conv); }, {{1, 1, 3, 3}, {1, 1, 2, 2}}, 1,
         "input 1"},
        {"conv2d_input_grad", [conv](const auto& v) { return conv2d_input_grad(v[0], v[1], {1, 1, 3, 3}, conv); },
         {{1, 1, 2, 2}, {1, 1, 2, 2}}, 0, "input 0"},
        {"conv2d_weight_grad", [conv](const auto& v) { return conv2d_weight_grad(v[0], v[1], {1, 1, 2, 2}, conv); },
         {{1, 1, 3, 3}, {1, 1, 2, 2}}, 1, "input 1"},
        {"group_norm", [](const auto& v) { return group_norm(v[0], 1, v[1], Var()); }, {{2, 2, 3}, {2}}, 0, "input 0"},
        {"tanh_backward", [](const auto& v) { return tanh_backward(v[0], v[1]); }, {{3}, {3}}, 1, "input 1"},
    };
    for (const Case& c : cases) {
        SUBCASE(c.op) {
            std::vector<Var> xs;
            for (const Shape& s : c.shapes) {
                Tensor<double> t(s);
                for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = 0.5 + 0.25 * double(i % 5);
                xs.emplace_back(std::move(t), true);
            }
            Var y = sum(c.f(xs));
            xs[c.changed].mutable_value<double>().data()[0] += 1.0;
            const std::string msg = graph_error([&] { backward(y); });
            CHECK(contains(msg, std::string("'") + c.op + "'"));
            CHECK(contains(msg, c.expected));
        }
    }
}

TEST_CASE("a saved output changed in place through a handle that shares it") {
    // exp, sqrt, tanh, sigmoid and pow keep their output. It is not a leaf, so mutable_value()
    // refuses it, but a detached copy or a Value handle shares its buffer.
    const std::vector<std::pair<const char*, std::function<Var(const Var&)>>> ops{
        {"exp", [](const Var& x) { return exp(x); }},
        {"sqrt", [](const Var& x) { return sqrt(x); }},
        {"tanh", [](const Var& x) { return tanh(x); }},
        {"sigmoid", [](const Var& x) { return sigmoid(x); }},
        {"pow", [](const Var& x) { return pow(x, x); }},
    };
    for (const auto& [name, f] : ops) {
        SUBCASE(name) {
            Var x = leaf({0.5, 1.5});
            Var y = f(x);
            Var loss = sum(y);
            SUBCASE("through detach()") { y.detach().mutable_value<double>()(0) = 9.0; }
            SUBCASE("through a Value handle") {
                Value v = y.value();
                v.as_mutable<double>()(1) = 9.0;
            }
            const std::string msg = graph_error([&] { backward(loss); });
            CHECK(contains(msg, std::string("the output of '") + name + "'"));
            CHECK(contains(msg, "version saved 0, now 1"));
        }
    }
    CHECK_THROWS_AS(exp(leaf({1.0})).mutable_value<double>(), GraphError);  // not a leaf
}

TEST_CASE("set_value on a saved leaf is an in-place change too") {
    Var w = leaf({3.0});
    Var x = leaf({2.0});
    Var y = sum(w * x);
    w.set_value(Value(Tensor<double>{4.0}));  // as checkpoint loading and Module::to() do
    const std::string msg = graph_error([&] { backward(y); });
    CHECK(contains(msg, "'mul'"));
    CHECK(contains(msg, "input 0"));
    CHECK(contains(msg, "version saved 0, now 1"));
}

TEST_CASE("no false positives: changes to values the backward does not use") {
    SUBCASE("an input of add, which saves nothing") {
        Var x = leaf({1.0, 2.0});
        Var w = leaf({3.0, 4.0});
        Var y = sum(x + w);
        x.mutable_value<double>()(0) = 50.0;
        w.set_value(Value(Tensor<double>{0.0, 0.0}));
        backward(y);
        CHECK(at(x.grad(), 0) == 1.0);
        CHECK(at(w.grad(), 1) == 1.0);
    }
    SUBCASE("mul's operand whose own gradient is not wanted") {
        // d(x c)/dx = c: the formula never reads x, so a change to x does not matter (PyTorch's
        // mul saves x only when c needs a gradient).
        Var x = leaf({2.0});
        Var c = Var(Tensor<double>{5.0});  // a constant
        Var y = sum(x * c);
        x.mutable_value<double>()(0) = 7.0;
        backward(y);
        CHECK(at(x.grad(), 0) == 5.0);
    }
    SUBCASE("conv2d's input when only its own gradient is wanted") {
        // dx is a transposed convolution of the weight; x's value is not read, only its shape.
        Var x(Tensor<double>(Shape{1, 1, 3, 3}, 0.5), true);
        Var w(Tensor<double>(Shape{1, 1, 2, 2}, 0.25));
        Var y = sum(conv2d(x, w, Var()));
        x.mutable_value<double>()(0, 0, 0, 0) = 9.0;
        backward(y);
        CHECK(at(x.grad(), 4) == doctest::Approx(1.0));  // the centre is under all four taps
    }
    SUBCASE("grad() for the input whose formula reads only unchanged values") {
        Var x = leaf({2.0});
        Var w = leaf({3.0});
        Var y = sum(x * w);
        x.mutable_value<double>()(0) = 7.0;
        // dy/dx = w, unchanged; dy/dw = x, changed.
        CHECK(at(grad(y, x, Var(), {.retain_graph = true}), 0) == 3.0);
        CHECK(contains(graph_error([&] { grad(y, w); }), "'mul'"));
    }
    SUBCASE("a retained graph backpropagated twice without changes") {
        Var x = leaf({0.3, -0.7});
        Var y = sum(tanh(x * x) * exp(x));
        backward(y, Var(), {.retain_graph = true});
        const double g0 = at(x.grad(), 0);
        backward(y);
        CHECK(at(x.grad(), 0) == doctest::Approx(2.0 * g0));
    }
    SUBCASE("gradient accumulation writes only into grad buffers") {
        Var x = leaf({0.5});
        for (int i = 0; i < 3; ++i) backward(sum(x * x));  // in-place += into x.grad()
        CHECK(x.version() == 0);
        CHECK(at(x.grad(), 0) == doctest::Approx(3.0));
    }
    SUBCASE("second order through saved Vars") {
        Var x = leaf({0.5});
        Var g = grad(sum(x * x * x), x, Var(), {.create_graph = true});  // 3x^2
        Var h = grad(sum(g), x);                                          // 6x
        CHECK(at(h, 0) == doctest::Approx(3.0));
    }
}

TEST_CASE("an update between two backwards of a retained graph throws; a fresh forward after it does not") {
    // What an optimizer step does: p -= lr * grad, in place through mutable_value().
    Var w = leaf({1.0, -1.0});
    Var x = Var(Tensor<double>{2.0, 3.0});
    auto step = [&] {
        Tensor<double>& v = w.mutable_value<double>();
        v -= 0.1 * w.grad().value<double>();
        w.zero_grad();
    };
    // square(w) saves w. (square(w * x) would not throw, and rightly: mul's formula for w reads
    // only x, and square saved w * x, which the step does not touch.)
    Var loss = sum(square(w) * x);
    backward(loss, Var(), {.retain_graph = true});
    step();
    const std::string msg = graph_error([&] { backward(loss); });
    CHECK(contains(msg, "'square'"));
    CHECK(contains(msg, "version saved 0, now 1"));

    // The usual loop: forward, backward (the graph is freed), step, a new forward.
    for (int i = 0; i < 3; ++i) {
        Var l = sum(square(w) * x);
        backward(l);
        step();
    }
    CHECK(w.version() == 4);
}
