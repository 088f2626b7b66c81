// The cde example's pieces (examples/cde): the spirals follow their stated construction (labels
// by direction, the drop count, NaN exactly where dropped, determinism), the path interpolates
// the kept observations, and every model gives (batch, 2) logits in both dtypes; a short training
// run of the CDE beats chance (CI's check that it learns; the comparison is the program's).
#include <doctest/doctest.h>

#include <cmath>

#include "odenet/autodiff/engine.hpp"
#include "odenet/autodiff/grad_mode.hpp"
#include "odenet/autodiff/ops.hpp"
#include "odenet/cde/models.hpp"
#include "odenet/cde/spirals.hpp"
#include "odenet/core/error.hpp"
#include "odenet/nn/loss.hpp"
#include "odenet/optim/adam.hpp"

using namespace odenet;
using namespace odenet::cde;

TEST_CASE("cde spirals: direction matches the label, 30% dropped as NaN, deterministic") {
    const SpiralOptions o{.count = 200, .points = 50};
    const Spirals s = make_spirals(o, 3);
    REQUIRE(s.values.shape() == Shape{200, 50, 2});
    REQUIRE(s.times.size() == 50);
    CHECK(s.times.front() == 0.0);
    CHECK(s.times.back() == doctest::Approx(o.duration));
    std::size_t ccw = 0;
    for (std::size_t b = 0; b < 200; ++b) {
        CAPTURE(b);
        // The clean spiral's winding: the cross product of consecutive points has the label's sign.
        double cross = 0;
        for (std::size_t j = 0; j + 1 < 50; ++j) cross += s.clean(b, j, 0) * s.clean(b, j + 1, 1) - s.clean(b, j, 1) * s.clean(b, j + 1, 0);
        CHECK((cross > 0) == (s.labels[b] == 1));
        ccw += s.labels[b];
        CHECK(s.kept[b].size() == 35);  // 50 - round(0.3 * 50)
        std::size_t nan_rows = 0;
        for (std::size_t j = 0; j < 50; ++j) nan_rows += std::isnan(s.values(b, j, 0)) && std::isnan(s.values(b, j, 1));
        CHECK(nan_rows == 15);
        for (std::size_t k = 0; k < s.kept[b].size(); ++k) {
            CHECK(!std::isnan(s.values(b, s.kept[b][k], 0)));
            if (k > 0) CHECK(s.kept[b][k] > s.kept[b][k - 1]);
        }
    }
    CHECK(ccw > 70);
    CHECK(ccw < 130);
    const Spirals again = make_spirals(o, 3), other = make_spirals(o, 4);
    CHECK(again.labels == s.labels);
    CHECK(again.kept == s.kept);
    CHECK(other.kept != s.kept);
}

TEST_CASE("cde spirals: bad options are refused by name") {
    CHECK_THROWS_WITH_AS(make_spirals({.count = 1}, 0), doctest::Contains("count"), ValueError);
    CHECK_THROWS_WITH_AS(make_spirals({.points = 4, .drop = 0.9}, 0), doctest::Contains("--drop"), ValueError);
    CHECK_THROWS_WITH_AS(make_spirals({.drop = 1.0}, 0), doctest::Contains("drop"), ValueError);
    CHECK_THROWS_WITH_AS(make_spirals({.noise = -1}, 0), doctest::Contains("noise"), ValueError);
}

TEST_CASE("cde path: interpolates the kept observations, time as channel 0") {
    const Spirals s = make_spirals({.count = 4, .points = 30}, 5);
    const nn::CubicPath X = spiral_path(s, Dtype::float64);
    CHECK(X.channels() == 3);
    for (std::size_t b = 0; b < 4; ++b)
        for (std::size_t j : s.kept[b]) {
            const Tensor<double> x = X.evaluate(s.times[j]).value<double>();
            CHECK(x(b, 0) == doctest::Approx(s.times[j]).epsilon(1e-12));
            CHECK(x(b, 1) == doctest::Approx(s.values(b, j, 0)).epsilon(1e-12));
            CHECK(x(b, 2) == doctest::Approx(s.values(b, j, 1)).epsilon(1e-12));
        }
}

TEST_CASE("cde models: (batch, 2) logits in float64 and float32, NFE for the ODE models") {
    const Spirals s = make_spirals({.count = 6, .points = 20}, 7);
    for (Dtype dtype : {Dtype::float64, Dtype::float32})
        for (const std::string& kind : model_names()) {
            CAPTURE(kind);
            manual_seed(1);
            ModelOptions mo{.kind = kind, .dtype = dtype};
            mo.odeint.solver = {.rtol = 1e-3, .atol = 1e-5};
            auto model = make_classifier(mo);
            const Var logits = model->logits(s);
            CHECK(logits.shape() == Shape{6, 2});
            CHECK(logits.dtype() == dtype);
            backward(nn::functional::cross_entropy(logits, s.labels));
            CHECK((kind == "gru_dt") == (model->forward_stats().nfe == 0));
            CHECK((kind == "gru_dt") == (model->backward_stats().nfe == 0));
        }
    CHECK_THROWS_WITH_AS(make_classifier({.kind = "lstm"}), doctest::Contains("cde, gru_dt, ode_rnn"), ValueError);
}

TEST_CASE("cde: a short training run of the CDE beats chance on held-out spirals") {
    const Spirals train = make_spirals({.count = 128, .points = 30}, 11), test = make_spirals({.count = 200, .points = 30}, 12);
    manual_seed(0);
    ModelOptions mo{.kind = "cde"};
    mo.odeint.solver = {.rtol = 1e-3, .atol = 1e-5};
    auto model = make_classifier(mo);
    optim::Adam adam(model->parameters(), {.lr = 1e-2});
    for (int epoch = 0; epoch < 4; ++epoch)
        for (std::size_t start = 0; start < 128; start += 32) {
            std::vector<std::size_t> rows;
            for (std::size_t i = start; i < start + 32; ++i) rows.push_back(i);
            const Spirals b = select(train, rows);
            adam.zero_grad();
            backward(nn::functional::cross_entropy(model->logits(b), b.labels));
            adam.step();
        }
    NoGradGuard no_grad;
    const Tensor<double> l = model->logits(test).value<double>();
    std::size_t right = 0;
    for (std::size_t i = 0; i < 200; ++i) right += (l(i, 1) > l(i, 0) ? 1u : 0u) == test.labels[i];
    MESSAGE("held-out accuracy after 16 steps: " << right / 2.0 << "%");
    CHECK(right > 150);  // chance is 100 of 200
}
