// The latent ODE example's pieces (examples/latent_ode): the spirals follow their stated
// formulas, subsampling is without replacement, and a short training run of each model on a few
// spirals lowers its loss (CI's check that the models learn; the full runs are Table 2's).
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>
#include <set>

#include "odenet/autodiff/engine.hpp"
#include "odenet/autodiff/grad_mode.hpp"
#include "odenet/autodiff/ops.hpp"
#include "odenet/latent_ode/models.hpp"
#include "odenet/latent_ode/spirals.hpp"
#include "odenet/optim/adam.hpp"

using namespace odenet;
using namespace odenet::latent_ode;

namespace {


// The loss on a fixed batch with a fixed z0 noise, before and after `steps` Adam steps.
std::pair<double, double> loss_before_after(const std::string& kind, Dtype dtype, std::size_t steps, ode::Grad grad) {
    manual_seed(3);
    const Spirals s = make_spirals({.count = 16}, 5);
    Generator pick(6);
    const auto at = subsample(16, 100, 12, pick);
    const Observations obs = observe(s.noisy, s.times, at, first_rows(16), dtype);
    ModelOptions o{.kind = kind, .dtype = dtype};
    o.odeint = {.solver = {.rtol = 1e-5, .atol = 1e-6}, .grad = grad};
    auto model = make_model(o);
    optim::Adam opt(model->parameters(), {.lr = 0.02});
    auto loss_now = [&] {
        Generator g(7);
        NoGradGuard no_grad;
        return model->loss(obs, g).item();
    };
    const double before = loss_now();
    for (std::size_t i = 0; i < steps; ++i) {
        Generator g(100 + i);
        Var loss = model->loss(obs, g);
        opt.zero_grad();
        backward(loss);
        opt.step();
    }
    return {before, loss_now()};
}

}  // namespace

TEST_CASE("latent_ode: the spirals lie on the stated curves, windows start inside, noise has the stated scale") {
    const SpiralConfig c;
    const Spirals s = make_spirals({.count = 200}, 1);
    REQUIRE(s.clean.shape() == Shape{200, 200, 2});
    REQUIRE(s.times.size() == 200);
    CHECK(s.times[1] == doctest::Approx(6 * std::numbers::pi / 999).epsilon(1e-15));
    double sq = 0;
    std::size_t cw = 0;
    for (std::size_t i = 0; i < 200; ++i) {
        cw += std::size_t(s.clockwise[i]);
        for (std::size_t k = 0; k < 200; ++k) {
            const double x = s.clean(i, k, 0), y = s.clean(i, k, 1);
            double t = 0;  // the point's time on its curve
            if (s.clockwise[i]) {  // r = 50 b / z and angle z: the point's radius about (-5, 0) says z
                const double r = std::hypot(x + 5, y), z = 50 * c.b / r;
                t = c.stop + 1 - z;
                CHECK(std::abs(std::cos(z) * r - 5 - x) < 1e-9);
                CHECK(std::abs(std::sin(z) * r - y) < 1e-9);
            } else {  // r = b t and angle t about (5, 0)
                const double r = std::hypot(x - 5, y);
                t = r / c.b;
                CHECK(std::abs(std::cos(t) * r + 5 - x) < 1e-9);
                CHECK(std::abs(std::sin(t) * r - y) < 1e-9);
            }
            // Point k of a window that starts at index start in [100, 800] of the 1000-point curve.
            const double index = t / (c.stop / 999) - double(k);
            CHECK(std::abs(index - std::round(index)) < 1e-6);
            CHECK(index > 100 - 1e-6);
            CHECK(index < 800 + 1e-6);
            sq += std::pow(s.noisy(i, k, 0) - x, 2) + std::pow(s.noisy(i, k, 1) - y, 2);
        }
    }
    CHECK(cw > 70);  // about half of 200 (binomial: 70..130 with probability > 0.9999)
    CHECK(cw < 130);
    CHECK(std::sqrt(sq / (200 * 200 * 2)) == doctest::Approx(0.3).epsilon(0.02));
}

TEST_CASE("latent_ode: subsample draws n distinct sorted indices per spiral and refuses n outside [1, observed]") {
    Generator gen(2);
    const auto at = subsample(50, 100, 30, gen);
    std::set<std::vector<std::size_t>> distinct;
    for (const auto& idx : at) {
        REQUIRE(idx.size() == 30);
        CHECK(std::set<std::size_t>(idx.begin(), idx.end()).size() == 30);
        CHECK(std::is_sorted(idx.begin(), idx.end()));
        CHECK(idx.back() < 100);
        distinct.insert(idx);
    }
    CHECK(distinct.size() == 50);
    CHECK_THROWS_WITH_AS(subsample(1, 100, 0, gen), doctest::Contains("n must be in [1, 100]"), ValueError);
    CHECK_THROWS_WITH_AS(subsample(1, 100, 101, gen), doctest::Contains("n must be in [1, 100]"), ValueError);
}

TEST_CASE("latent_ode: a short run of the latent ODE (adjoint) lowers the negative ELBO") {
    const auto [before, after] = loss_before_after("latent_ode", Dtype::float64, 40, ode::Grad::adjoint);
    MESSAGE("negative ELBO per spiral " << before << " -> " << after);
    CHECK(after < 0.8 * before);
}

TEST_CASE("latent_ode: the ODE-RNN encoder (checkpointed) and float32 latent ODE (direct) learn too") {
    const auto [b1, a1] = loss_before_after("ode_rnn", Dtype::float64, 25, ode::Grad::checkpointed);
    MESSAGE("ode_rnn: " << b1 << " -> " << a1);
    CHECK(a1 < 0.8 * b1);
    const auto [b2, a2] = loss_before_after("latent_ode", Dtype::float32, 40, ode::Grad::direct);
    MESSAGE("latent_ode float32: " << b2 << " -> " << a2);
    CHECK(a2 < 0.8 * b2);
}

TEST_CASE("latent_ode: the RNN baselines learn, and extrapolate after the observations only") {
    for (const char* kind : {"rnn", "rnn_dt"}) {
        const auto [before, after] = loss_before_after(kind, Dtype::float64, 40, ode::Grad::adjoint);
        MESSAGE(std::string(kind) << ": " << before << " -> " << after);
        CHECK(after < 0.8 * before);
    }
    manual_seed(1);
    const Spirals s = make_spirals({.count = 3}, 5);
    Generator pick(6);
    const Observations obs = observe(s.noisy, s.times, subsample(3, 100, 10, pick), first_rows(3), Dtype::float64);
    auto rnn = make_model({.kind = "rnn_dt"});
    const std::vector<double> future(s.times.begin() + 100, s.times.end());
    CHECK(rnn->predict(obs, future).shape() == Shape{3, 100, 2});
    CHECK_THROWS_AS(rnn->predict(obs, {s.times[0]}), ValueError);
    auto latent = make_model({.kind = "latent_ode"});
    CHECK(latent->predict(obs, s.times).shape() == Shape{3, 200, 2});
    CHECK(latent->latent_path(obs, future).shape() == Shape{100, 3, 4});
    CHECK_THROWS_WITH_AS(latent->predict(obs, {1.0, 0.5}), doctest::Contains("query[1] = 0.5"), ValueError);
    CHECK_THROWS_AS(latent->predict(obs, {-1.0}), ValueError);
    // One observation per spiral is enough for a latent model (the encoder reads its time).
    const Observations one = observe(s.noisy, s.times, subsample(3, 100, 1, pick), first_rows(3), Dtype::float64);
    Generator g(1);
    CHECK(std::isfinite(latent->loss(one, g).item()));
}
