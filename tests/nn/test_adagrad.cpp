// Adagrad against torch.optim.Adagrad's update rule, written out in the test: every option in
// float64 and float32, a closed form, the accumulator from construction, checkpoints, validation.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "nn/optim_steps.hpp"
#include "odenet/nn.hpp"

using namespace odenet;
using namespace optim_steps;
using optim::Adagrad;
using optim::AdagradOptions;

namespace {
// PyTorch's _single_tensor_adagrad, one entry at a time, in double.
std::vector<double> reference(const AdagradOptions& o) {
    std::vector<double> p = kP0, sum(p.size(), o.initial_accumulator_value);
    double t = 0;
    for (const auto& grad : kGrads) {
        t += 1;
        const double clr = o.lr / (1 + (t - 1) * o.lr_decay);
        for (std::size_t k = 0; k < p.size(); ++k) {
            const double g = grad[k] + o.weight_decay * p[k];
            sum[k] += g * g;
            p[k] -= clr * g / (std::sqrt(sum[k]) + o.eps);
        }
    }
    return p;
}

const std::vector<std::pair<const char*, AdagradOptions>> kCases{
    {"plain (PyTorch's defaults)", {}},
    {"lr_decay", {.lr_decay = 0.5}},
    {"weight_decay", {.weight_decay = 0.1}},
    {"initial_accumulator_value", {.initial_accumulator_value = 0.25}},
    {"all options", {.lr = 0.1, .lr_decay = 0.2, .weight_decay = 0.05, .initial_accumulator_value = 0.1, .eps = 1e-6}},
};
}  // namespace

TEST_CASE("Adagrad: PyTorch's defaults") {
    const AdagradOptions o;
    CHECK(o.lr == 1e-2);
    CHECK(o.lr_decay == 0.0);
    CHECK(o.weight_decay == 0.0);
    CHECK(o.initial_accumulator_value == 0.0);
    CHECK(o.eps == 1e-10);
}

TEST_CASE("Adagrad: four steps of every option against PyTorch's formula") {
    for (const auto& [name, options] : kCases) {
        SUBCASE(name) {
            const std::vector<double> want = reference(options);
            // float64: the same operations as the reference, rounded in another order or fused
            // (-march=native): a few ulps (1.1e-16) per operation, some tens over four steps,
            // while any slip in the formula moves p by > 1e-4 relative.
            check_relative(run<double, Adagrad>(options), want, 1e-14);
            // float32: unit roundoff 6e-8 on |p| <= 2.5 and on each update, a handful of
            // roundings per step over four steps: under 2e-6.
            check_absolute(run<float, Adagrad>(options), want, 2e-6);
        }
    }
}

TEST_CASE("Adagrad: a constant gradient has a closed form") {
    // s_t = s_0 + t g², so p_t = p_0 - Σ_s lr / (1 + (s - 1) lr_decay) g / (sqrt(s_0 + s g²) + eps).
    // From s_0 = 0 the first step is lr sign(g), to eps / |g| relative.
    const double g = -0.3, lr = 0.1, decay = 0.25, s0 = 0.5, eps = 1e-10;
    Var p(tensor<double>({1.0}), true);
    Adagrad opt({p}, {.lr = lr, .lr_decay = decay, .initial_accumulator_value = s0});
    double want = 1.0;
    for (int s = 1; s <= 5; ++s) {
        p.set_grad(Var(tensor<double>({g})));
        opt.step();
        want -= lr / (1 + (s - 1) * decay) * g / (std::sqrt(s0 + s * g * g) + eps);
        CHECK(std::abs(p.value<double>()(0) - want) <= 1e-14);  // as the option test, in one entry
    }
    Var q(tensor<double>({2.0}), true);
    q.set_grad(Var(tensor<double>({g})));
    Adagrad plain({q});
    plain.step();
    CHECK(q.value<double>()(0) == doctest::Approx(2.01).epsilon(1e-9));
}

TEST_CASE("Adagrad: \"sum\" exists from construction, filled with initial_accumulator_value") {
    Var p(tensor<double>(kP0), true);
    Adagrad opt({p}, {.initial_accumulator_value = 0.25});
    const auto state = opt.state_dict();
    REQUIRE(names(state) == std::vector<std::string>{"lr", "state.0.sum"});
    CHECK(state[1].second.as<double>() == tensor<double>({0.25, 0.25, 0.25}));
    // Loading a state without "sum" (a parameter never stepped) restarts it at the same value.
    Var q(tensor<double>(kP0), true);
    Adagrad cleared({q}, {.initial_accumulator_value = 0.25});
    cleared.load_state_dict({{"lr", Value(Tensor<double>(0.01))}});
    for (Var* x : {&p, &q}) x->set_grad(Var(tensor<double>(kGrads[0])));
    opt.step();
    cleared.step();
    CHECK(p.value<double>() == q.value<double>());
    // float32 parameters get a float32 accumulator.
    Var f(tensor<float>(kP0), true);
    CHECK(Adagrad({f}).state_dict()[1].second.dtype() == Dtype::float32);
}

TEST_CASE("Adagrad: checkpoint round trip, and a wrong-shaped \"sum\" is refused") {
    for (const auto& [name, options] : kCases) {
        SUBCASE(name) { check_round_trip<Adagrad>(options); }
    }
    Var p(tensor<double>(kP0), true);
    Adagrad opt({p});
    auto state = opt.state_dict();
    REQUIRE(state[1].first == "state.0.sum");
    state[1].second = Value(tensor<double>({1.0, 2.0}));
    CHECK_THROWS_WITH_AS(opt.load_state_dict(state),
                         "Optimizer::load_state_dict: 'state.0.sum' has shape (2), expected (3)", ValueError);
}

TEST_CASE("Adagrad: invalid options name the option, its value and its range") {
    Var p(tensor<double>({1.0}), true);
    const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
    CHECK_THROWS_WITH_AS(Adagrad({p}, {.lr = -0.1}), "Adagrad: lr must be finite and >= 0, got -0.1", ValueError);
    CHECK_THROWS_WITH_AS(Adagrad({p}, {.lr = inf}), "Adagrad: lr must be finite and >= 0, got inf", ValueError);
    CHECK_THROWS_WITH_AS(Adagrad({p}, {.lr_decay = -1.0}), "Adagrad: lr_decay must be finite and >= 0, got -1",
                         ValueError);
    CHECK_THROWS_WITH_AS(Adagrad({p}, {.weight_decay = nan}), "Adagrad: weight_decay must be finite and >= 0, got nan",
                         ValueError);
    CHECK_THROWS_WITH_AS(Adagrad({p}, {.initial_accumulator_value = -0.5}),
                         "Adagrad: initial_accumulator_value must be finite and >= 0, got -0.5", ValueError);
    CHECK_THROWS_WITH_AS(Adagrad({p}, {.eps = -1e-10}), "Adagrad: eps must be finite and >= 0, got -1e-10", ValueError);
    CHECK_NOTHROW(Adagrad({p}, {.lr = 0.0, .eps = 0.0}));
}
