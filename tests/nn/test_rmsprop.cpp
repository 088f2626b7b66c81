// RMSprop against torch.optim.RMSprop's update rules, written out in the test: every option
// branch in float64 and float32, closed forms for a constant gradient, checkpoints, validation.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "nn/optim_steps.hpp"
#include "odenet/nn.hpp"

using namespace odenet;
using namespace optim_steps;
using optim::RMSprop;
using optim::RMSpropOptions;

namespace {
// PyTorch's _single_tensor_rmsprop, one entry at a time, in double.
std::vector<double> reference(const RMSpropOptions& o) {
    std::vector<double> p = kP0, v(p.size(), 0.0), b(p.size(), 0.0), g_avg(p.size(), 0.0);
    for (const auto& grad : kGrads) {
        for (std::size_t k = 0; k < p.size(); ++k) {
            const double g = grad[k] + o.weight_decay * p[k];
            v[k] = o.alpha * v[k] + (1 - o.alpha) * g * g;
            double avg = std::sqrt(v[k]) + o.eps;
            if (o.centered) {
                g_avg[k] = o.alpha * g_avg[k] + (1 - o.alpha) * g;
                avg = std::sqrt(v[k] - g_avg[k] * g_avg[k]) + o.eps;
            }
            if (o.momentum > 0) {
                b[k] = o.momentum * b[k] + g / avg;
                p[k] -= o.lr * b[k];
            } else {
                p[k] -= o.lr * g / avg;
            }
        }
    }
    return p;
}

const std::vector<std::pair<const char*, RMSpropOptions>> kCases{
    {"plain (PyTorch's defaults)", {}},
    {"weight_decay", {.weight_decay = 0.1}},
    {"momentum", {.momentum = 0.9}},
    {"centered", {.centered = true}},
    {"centered, momentum and weight_decay", {.lr = 0.05, .alpha = 0.9, .eps = 1e-6, .weight_decay = 0.1, .momentum = 0.5, .centered = true}},
};
}  // namespace

TEST_CASE("RMSprop: PyTorch's defaults") {
    const RMSpropOptions o;
    CHECK(o.lr == 1e-2);
    CHECK(o.alpha == 0.99);
    CHECK(o.eps == 1e-8);
    CHECK(o.weight_decay == 0.0);
    CHECK(o.momentum == 0.0);
    CHECK(!o.centered);
}

TEST_CASE("RMSprop: first step from the defaults moves by about lr / sqrt(1 - alpha)") {
    // v = 0.01 g², so the step is 0.01 g / (0.1 |g| + 1e-8), 0.1 sign(g) to 2e-7 relative.
    Var p(tensor<double>({1.0, -2.0}), true);
    p.set_grad(Var(tensor<double>({0.5, -4.0})));
    RMSprop opt({p});
    opt.step();
    CHECK(p.value<double>()(0) == doctest::Approx(1.0 - 0.005 / (0.05 + 1e-8)).epsilon(1e-15));
    CHECK(p.value<double>()(1) == doctest::Approx(-2.0 + 0.04 / (0.4 + 1e-8)).epsilon(1e-15));
}

TEST_CASE("RMSprop: four steps of every option branch against PyTorch's formulas") {
    for (const auto& [name, options] : kCases) {
        SUBCASE(name) {
            const std::vector<double> want = reference(options);
            // float64: the same operations as the reference, rounded in another order or fused
            // (-march=native contracts a * b + c): a few ulps (1.1e-16) per operation, some tens
            // over four steps, while any slip in a formula moves p by > 1e-4 relative.
            check_relative(run<double, RMSprop>(options), want, 1e-14);
            // float32: unit roundoff 6e-8 on |p| <= 2.5 and on each update, a handful of roundings
            // per step over four steps: under 2e-6.
            check_absolute(run<float, RMSprop>(options), want, 2e-6);
        }
    }
}

TEST_CASE("RMSprop: a constant gradient has closed forms") {
    // With g fixed and no weight decay, v_t = (1 - α^t) g² and ḡ_t = (1 - α^t) g, so
    //   plain:    p_t = p_0 - lr Σ_s g / (sqrt(1 - α^s) |g| + eps)
    //   centred:  p_t = p_0 - lr Σ_s g / (sqrt((1 - α^s) α^s) |g| + eps)
    const double g = 0.3, lr = 0.01, alpha = 0.99, eps = 1e-8;
    for (bool centered : {false, true}) {
        Var p(tensor<double>({1.0}), true);
        RMSprop opt({p}, {.centered = centered});
        double want = 1.0;
        for (int s = 1; s <= 5; ++s) {
            p.set_grad(Var(tensor<double>({g})));
            opt.step();
            const double a_s = std::pow(alpha, s);
            want -= lr * g / (std::sqrt((1 - a_s) * (centered ? a_s : 1.0)) * g + eps);
            CHECK(std::abs(p.value<double>()(0) - want) <= 1e-14);  // as the branch test, in one entry
        }
    }
}

TEST_CASE("RMSprop: the state holds the buffers the options use, named as PyTorch's") {
    using V = std::vector<std::string>;
    auto stepped_names = [](RMSpropOptions o) {
        Var p(tensor<double>(kP0), true);
        p.set_grad(Var(tensor<double>(kGrads[0])));
        RMSprop opt({p}, o);
        opt.step();
        return names(opt.state_dict());
    };
    CHECK(stepped_names({}) == V{"lr", "state.0.step", "state.0.square_avg"});
    CHECK(stepped_names({.momentum = 0.9}) == V{"lr", "state.0.step", "state.0.square_avg", "state.0.momentum_buffer"});
    CHECK(stepped_names({.centered = true}) == V{"lr", "state.0.step", "state.0.square_avg", "state.0.grad_avg"});
    CHECK(stepped_names({.momentum = 0.9, .centered = true}) ==
          V{"lr", "state.0.step", "state.0.square_avg", "state.0.momentum_buffer", "state.0.grad_avg"});
}

TEST_CASE("RMSprop: checkpoint round trip, and a wrong-shaped buffer is refused") {
    for (const auto& [name, options] : kCases) {
        SUBCASE(name) { check_round_trip<RMSprop>(options); }
    }
    Var p(tensor<double>(kP0), true);
    p.set_grad(Var(tensor<double>(kGrads[0])));
    RMSprop opt({p}, {.momentum = 0.9, .centered = true});
    opt.step();
    auto state = opt.state_dict();
    REQUIRE(state[2].first == "state.0.square_avg");
    state[2].second = Value(tensor<double>({1.0, 2.0}));
    RMSprop fresh({p}, {.momentum = 0.9, .centered = true});
    CHECK_THROWS_WITH_AS(fresh.load_state_dict(state),
                         "Optimizer::load_state_dict: 'state.0.square_avg' has shape (2), expected (3)", ValueError);
    CHECK(fresh.state_dict().size() == 1);  // unchanged: "lr" only
    // A buffer of an option that is off is not a state of this optimizer.
    RMSprop plain({p});
    CHECK_THROWS_AS(plain.load_state_dict(opt.state_dict()), ValueError);
}

TEST_CASE("RMSprop: invalid options name the option, its value and its range") {
    Var p(tensor<double>({1.0}), true);
    const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
    CHECK_THROWS_WITH_AS(RMSprop({p}, {.lr = -1.0}), "RMSprop: lr must be finite and >= 0, got -1", ValueError);
    CHECK_THROWS_WITH_AS(RMSprop({p}, {.lr = nan}), "RMSprop: lr must be finite and >= 0, got nan", ValueError);
    CHECK_THROWS_WITH_AS(RMSprop({p}, {.alpha = 1.5}), "RMSprop: alpha must be in [0, 1], got 1.5", ValueError);
    CHECK_THROWS_WITH_AS(RMSprop({p}, {.alpha = -0.1}), "RMSprop: alpha must be in [0, 1], got -0.1", ValueError);
    CHECK_THROWS_WITH_AS(RMSprop({p}, {.alpha = nan}), "RMSprop: alpha must be in [0, 1], got nan", ValueError);
    CHECK_THROWS_WITH_AS(RMSprop({p}, {.eps = -1e-8}), "RMSprop: eps must be finite and >= 0, got -1e-08", ValueError);
    CHECK_THROWS_WITH_AS(RMSprop({p}, {.weight_decay = inf}), "RMSprop: weight_decay must be finite and >= 0, got inf",
                         ValueError);
    CHECK_THROWS_WITH_AS(RMSprop({p}, {.momentum = -0.5}), "RMSprop: momentum must be finite and >= 0, got -0.5",
                         ValueError);
    CHECK_NOTHROW(RMSprop({p}, {.lr = 0.0, .alpha = 0.0, .eps = 0.0}));
    CHECK_NOTHROW(RMSprop({p}, {.alpha = 1.0}));
}
