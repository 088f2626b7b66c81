// Optimizers: one step against hand-computed updates; convergence; schedules; clipping; state.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "odenet/nn.hpp"

using namespace odenet;

namespace {
// A parameter with a given value and gradient.
Var param_with_grad(Tensor<double> value, Tensor<double> grad) {
    Var p(std::move(value), true);
    p.set_grad(Var(std::move(grad)));
    return p;
}
double at(const Var& v, std::size_t i) { return v.value<double>().data()[i]; }
}  // namespace

TEST_CASE("SGD: plain, weight decay, momentum and Nesterov steps by hand") {
    Var p = param_with_grad({1.0, -2.0}, {0.5, 0.25});
    optim::SGD plain({p}, {.lr = 0.1});
    plain.step();
    CHECK(at(p, 0) == doctest::Approx(1.0 - 0.05));
    CHECK(at(p, 1) == doctest::Approx(-2.0 - 0.025));

    Var q = param_with_grad({1.0}, {0.5});
    optim::SGD decay({q}, {.lr = 0.1, .weight_decay = 0.2});
    decay.step();  // g = 0.5 + 0.2 * 1 = 0.7
    CHECK(at(q, 0) == doctest::Approx(1.0 - 0.07));

    Var m = param_with_grad({1.0}, {0.5});
    optim::SGD momentum({m}, {.lr = 0.1, .momentum = 0.9});
    momentum.step();  // b = 0.5, p = 1 - 0.05
    momentum.step();  // b = 0.9 * 0.5 + 0.5 = 0.95, p = 0.95 - 0.095
    CHECK(at(m, 0) == doctest::Approx(0.855));
    const auto state = momentum.state_dict();
    CHECK(state[1].first == "state.0.step");
    CHECK(state[2].first == "state.0.momentum_buffer");
    CHECK(state[2].second.as<double>()(0) == doctest::Approx(0.95));

    Var n = param_with_grad({1.0}, {0.5});
    optim::SGD nesterov({n}, {.lr = 0.1, .momentum = 0.9, .nesterov = true});
    nesterov.step();  // b = 0.5, g = 0.5 + 0.45 = 0.95
    CHECK(at(n, 0) == doctest::Approx(1.0 - 0.095));
    nesterov.step();  // b = 0.95, g = 0.5 + 0.855 = 1.355
    CHECK(at(n, 0) == doctest::Approx(0.905 - 0.1355));
    CHECK_THROWS_AS(optim::SGD({n}, {.nesterov = true}), ValueError);
}

TEST_CASE("Adam and AdamW: first two steps by hand") {
    const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1;
    Var p = param_with_grad({1.0}, {0.5});
    optim::Adam adam({p}, {.lr = lr, .weight_decay = wd});
    adam.step();
    // g = 0.5 + 0.1 = 0.6; m = 0.06, v = 0.00036; m̂ = 0.6, v̂ = 0.36: step lr * 0.6 / (0.6 + eps).
    const double p1 = 1.0 - lr * 0.6 / (0.6 + eps);
    CHECK(at(p, 0) == doctest::Approx(p1).epsilon(1e-12));
    adam.step();
    const double g2 = 0.5 + wd * p1;
    const double m2 = b1 * (1 - b1) * 0.6 + (1 - b1) * g2, v2 = b2 * (1 - b2) * 0.36 + (1 - b2) * g2 * g2;
    const double p2 = p1 - lr / (1 - b1 * b1) * m2 / (std::sqrt(v2) / std::sqrt(1 - b2 * b2) + eps);
    CHECK(at(p, 0) == doctest::Approx(p2).epsilon(1e-12));

    Var w = param_with_grad({1.0}, {0.5});
    optim::AdamW adamw({w}, {.lr = lr, .weight_decay = wd});
    adamw.step();  // decay first: 1 * (1 - 0.001), then the Adam step on g = 0.5
    CHECK(at(w, 0) == doctest::Approx(0.999 - lr * 0.5 / (0.5 + eps)).epsilon(1e-12));
}

TEST_CASE("optimizers update float32 parameters in float32") {
    Var p(Tensor<float>{1.0f, 2.0f}, true);
    p.set_grad(Var(Tensor<float>{1.0f, -1.0f}));
    optim::Adam adam({p}, {.lr = 0.5});
    adam.step();
    CHECK(p.dtype() == Dtype::float32);
    CHECK(p.value<float>()(0) == doctest::Approx(0.5).epsilon(1e-6));
    CHECK(p.value<float>()(1) == doctest::Approx(2.5).epsilon(1e-6));
    optim::SGD sgd({p}, {.lr = 1.0, .momentum = 0.5});
    sgd.step();
    CHECK(p.value<float>()(0) == doctest::Approx(-0.5).epsilon(1e-6));
}

TEST_CASE("optimizer state follows a module converted with to()") {
    odenet::nn::Linear lin(2, 1);
    optim::SGD sgd(lin.parameters(), {.lr = 0.1, .momentum = 0.9});
    backward(sum(lin(ones({3, 2}))));
    sgd.step();
    lin.to(Dtype::float32);
    backward(sum(lin(ones({3, 2}, Dtype::float32))));
    sgd.step();  // the float64 momentum buffers are converted, not a DtypeError
    CHECK(sgd.state_dict()[2].second.dtype() == Dtype::float32);
}

TEST_CASE("an optimizer step between two backwards of a retained graph throws; a new forward does not") {
    // The step writes the parameters in place (mutable_value); the second layer's gemm saved its
    // weight for the gradient of its input. See Note [Version counters] in autodiff/src/var.cpp.
    odenet::nn::Linear l1(2, 3), l2(3, 1);
    std::vector<Var> params = l1.parameters();
    for (const Var& p : l2.parameters()) params.push_back(p);
    optim::Adam adam(params, {.lr = 0.1});
    const Var x = ones({4, 2});
    const std::uint32_t v0 = l2.weight.version();  // initialisation wrote it already
    const Var loss = sum(square(l2(tanh(l1(x)))));
    backward(loss, Var(), {.retain_graph = true});
    adam.step();
    try {
        backward(loss);
        FAIL("expected a GraphError");
    } catch (const GraphError& e) {
        CHECK(std::string(e.what()).find("in-place operation: the input 1 of 'gemm'") != std::string::npos);
    }
    for (int i = 0; i < 2; ++i) {  // the usual loop: each backward frees its graph before the step
        adam.zero_grad();
        backward(sum(square(l2(tanh(l1(x))))));
        adam.step();
    }
    CHECK(l2.weight.version() == v0 + 3);
}

TEST_CASE("parameters without a gradient are skipped") {
    Var a = param_with_grad({1.0}, {1.0});
    Var b(Tensor<double>{1.0}, true);
    optim::Adam adam({a, b}, {.lr = 0.1});
    adam.step();
    CHECK(at(b, 0) == 1.0);
    CHECK(adam.state_dict().size() == 1 + 3);  // lr, and step + two buffers for a only
}

TEST_CASE("Adam converges on an ill-conditioned quadratic") {
    // f(x) = Σ c_i (x_i - a_i)^2 with curvatures spanning 100x; minimum at a.
    const Tensor<double> c{1.0, 10.0, 100.0}, a{1.0, -2.0, 0.5};
    Var x(Tensor<double>{5.0, 5.0, 5.0}, true);
    optim::Adam adam({x}, {.lr = 0.05});
    optim::CosineAnnealingLR schedule(adam, {.t_max = 2000, .eta_min = 1e-4});
    for (int it = 0; it < 2000; ++it) {
        adam.zero_grad();
        backward(sum(Var(c) * square(x - Var(a))));
        adam.step();
        schedule.step();
    }
    for (std::size_t i = 0; i < 3; ++i) CHECK(at(x, i) == doctest::Approx(a(i)).epsilon(1e-4).scale(1));
}

TEST_CASE("learning-rate schedules") {
    Var p = param_with_grad({0.0}, {0.0});
    optim::SGD sgd({p}, {.lr = 1.0});
    optim::MultiStepLR multi(sgd, {.milestones = {2, 4}, .gamma = 0.5});
    CHECK(multi.lr_at(1) == 1.0);
    CHECK(multi.lr_at(2) == 0.5);
    CHECK(multi.lr_at(5) == 0.25);
    multi.step();
    multi.step();
    CHECK(sgd.lr() == 0.5);

    optim::SGD sgd2({p}, {.lr = 0.1});
    optim::CosineAnnealingLR cosine(sgd2, {.t_max = 10, .eta_min = 0.01});
    CHECK(cosine.lr_at(0) == doctest::Approx(0.1));
    CHECK(cosine.lr_at(5) == doctest::Approx(0.055));
    CHECK(cosine.lr_at(10) == doctest::Approx(0.01));

    optim::SGD sgd3({p}, {.lr = 0.2});
    optim::LinearWarmup warm(sgd3, {.warmup_steps = 4});
    CHECK(sgd3.lr() == 0.0);  // count 0
    warm.step();
    CHECK(sgd3.lr() == doctest::Approx(0.05));
    CHECK(warm.lr_at(4) == doctest::Approx(0.2));
    CHECK(warm.lr_at(100) == doctest::Approx(0.2));
}

TEST_CASE("clip_grad_norm scales all gradients together") {
    Var a = param_with_grad({0.0, 0.0}, {3.0, 0.0});
    Var b = param_with_grad({0.0}, {4.0});
    const double total = optim::clip_grad_norm({a, b}, 1.0);
    CHECK(total == doctest::Approx(5.0));
    CHECK(a.grad().value<double>()(0) == doctest::Approx(0.6).epsilon(1e-5));
    CHECK(b.grad().value<double>()(0) == doctest::Approx(0.8).epsilon(1e-5));
    // Below the threshold nothing changes.
    CHECK(optim::clip_grad_norm({a, b}, 10.0) == doctest::Approx(1.0).epsilon(1e-5));
    CHECK(b.grad().value<double>()(0) == doctest::Approx(0.8).epsilon(1e-5));
    CHECK(optim::clip_grad_norm({a, b}, 0.4, INFINITY) == doctest::Approx(0.8).epsilon(1e-5));
    CHECK(b.grad().value<double>()(0) == doctest::Approx(0.4).epsilon(1e-5));
}

TEST_CASE("optimizer state round trip and validation") {
    Var p = param_with_grad({1.0, 2.0}, {0.1, 0.2});
    optim::Adam adam({p}, {.lr = 0.1});
    adam.step();
    adam.step();
    const auto state = adam.state_dict();
    Var q = param_with_grad({1.0, 2.0}, {0.1, 0.2});
    optim::Adam other({q}, {.lr = 0.3});
    other.load_state_dict(state);
    CHECK(other.lr() == 0.1);
    const auto again = other.state_dict();
    REQUIRE(again.size() == state.size());
    for (std::size_t i = 0; i < state.size(); ++i) {
        CHECK(again[i].first == state[i].first);
        CHECK(again[i].second.as<double>() == state[i].second.as<double>());
    }
    // A bad shape leaves the optimizer unchanged.
    auto bad = state;
    bad[2].second = Value(Tensor<double>{1.0, 2.0, 3.0});
    optim::Adam fresh({q}, {.lr = 0.3});
    CHECK_THROWS_AS(fresh.load_state_dict(bad), ValueError);
    CHECK(fresh.lr() == 0.3);
    CHECK(fresh.state_dict().size() == 1);
    CHECK_THROWS_AS(fresh.load_state_dict({{"state.5.exp_avg", Value(Tensor<double>{1.0, 2.0})}}), ValueError);
    CHECK_THROWS_AS(fresh.load_state_dict({{"state.0.momentum_buffer", Value(Tensor<double>{1.0, 2.0})}}), ValueError);
    CHECK_THROWS_AS(fresh.load_state_dict({{"state.0.exp_avg", Value(Tensor<double>{1.0, 2.0})}}), ValueError);  // half
}

TEST_CASE("optimizer arguments are validated") {
    CHECK_THROWS_AS(optim::SGD({}, {}), ValueError);
    Var p(Tensor<double>{1.0}, true);
    CHECK_THROWS_AS(optim::SGD({p * 2.0}, {}), ValueError);  // not a leaf
    CHECK_THROWS_AS(optim::Adam({p}, {.betas = {1.0, 0.999}}), ValueError);
    CHECK_THROWS_AS(optim::Adam({p}, {.lr = -1}), ValueError);
}
