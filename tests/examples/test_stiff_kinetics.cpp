// The stiff_kinetics example's pieces (examples/stiff_kinetics): the differentiable field agrees
// with the closed form and its engine Jacobian with the closed-form Jacobian; the data follow
// their stated construction (log-spaced times with exact ends, mass conservation of the truth,
// noise of the stated size, determinism); the loss is at the noise floor at the true rates and
// its adjoint gradient matches central differences.
#include <doctest/doctest.h>

#include <cmath>

#include "odenet/autodiff/engine.hpp"
#include "odenet/autodiff/grad_mode.hpp"
#include "odenet/autodiff/jacobian.hpp"
#include "odenet/autodiff/ops.hpp"
#include "odenet/core/error.hpp"
#include "odenet/stiff_kinetics/fit.hpp"
#include "odenet/stiff_kinetics/robertson.hpp"

using namespace odenet;
using namespace odenet::stiff_kinetics;

namespace {

Var log_rates(const Rates& k, Dtype dtype = Dtype::float64) {
    Tensor<double> v = Tensor<double>::from_shape({3});
    for (std::size_t i = 0; i < 3; ++i) v(i) = std::log(k[i]);
    return to_dtype(Var(v), dtype);
}

}  // namespace

TEST_CASE("stiff_kinetics field: the Var field and its engine Jacobian match the closed forms") {
    const Rates k{0.07, 2e7, 3e3};
    const std::array<double, 3> y{0.8, 2.5e-5, 0.19};
    Tensor<double> yt = Tensor<double>::from_shape({3});
    for (std::size_t i = 0; i < 3; ++i) yt(i) = y[i];
    const Tensor<double> f = field(log_rates(k), Var(yt)).value<double>();
    const std::array<double, 3> expected = field(k, y);
    for (std::size_t i = 0; i < 3; ++i) CHECK(f(i) == doctest::Approx(expected[i]).epsilon(1e-12));
    CHECK(expected[0] + expected[1] + expected[2] == doctest::Approx(0.0).scale(1e-9));  // mass is conserved
    const Tensor<double> J = jacobian([&](const Var& x) { return field(log_rates(k), x); }, Var(yt));
    const std::array<double, 9> closed = jacobian(k, y);
    for (std::size_t i = 0; i < 9; ++i) {
        CAPTURE(i);
        CHECK(J.data()[i] == doctest::Approx(closed[i]).epsilon(1e-12).scale(1e-12));
    }
    CHECK_THROWS_AS(field(log_rates(k), Var(Tensor<double>::from_shape({2}))), ShapeError);
}

TEST_CASE("stiff_kinetics data: log-spaced times, conserved mass, noise of the stated size, deterministic") {
    const DataOptions o{.points = 30, .noise = 0.02, .rtol = 1e-9, .atol = 1e-13};
    const Dataset d = make_dataset(o, 5);
    REQUIRE(d.ts.size() == 30);
    CHECK(d.ts.front() == 1e-5);
    CHECK(d.ts.back() == 1e5);
    for (std::size_t i = 1; i < 30; ++i) CHECK(std::log10(d.ts[i] / d.ts[i - 1]) == doctest::Approx(10.0 / 29));
    double sum_sq = 0;
    for (std::size_t i = 0; i < 30; ++i) {
        CAPTURE(i);
        CHECK(d.truth(i, 0) + d.truth(i, 1) + d.truth(i, 2) == doctest::Approx(1.0).epsilon(1e-8));
        for (std::size_t s = 0; s < 3; ++s) {
            const double z = std::log(d.observed(i, s) / d.truth(i, s)) / o.noise;
            sum_sq += z * z;
            CHECK(d.observed(i, s) <= d.scale[s]);
        }
    }
    CHECK(std::sqrt(sum_sq / 90) == doctest::Approx(1.0).epsilon(0.25));  // ε ~ N(0, 1)
    // y2's quasi-steady peak: sqrt(k1 / k2) = 3.65e-5 (Hairer & Wanner's figure: 3.6e-5).
    double peak = 0;
    for (std::size_t i = 0; i < 30; ++i) peak = std::max(peak, d.truth(i, 1));
    CHECK(peak == doctest::Approx(3.65e-5).epsilon(0.02));
    const Dataset again = make_dataset(o, 5), other = make_dataset(o, 6);
    CHECK(again.observed(7, 1) == d.observed(7, 1));
    CHECK(other.observed(7, 1) != d.observed(7, 1));
    CHECK_THROWS_AS(make_dataset({.points = 1}, 0), ValueError);
    CHECK_THROWS_AS(make_dataset({.t_min = 10, .t_max = 1}, 0), ValueError);
}

TEST_CASE("stiff_kinetics fit: the adjoint gradient through rodas4 matches central differences") {
    const Dataset d = make_dataset({.points = 12}, 0);
    for (Dtype dtype : {Dtype::float64, Dtype::float32}) {
        CAPTURE(dtype_name(dtype));
        const Problem problem(d, {.method = ode::Method::rodas4, .dtype = dtype});
        {
            NoGradGuard no_grad;
            // At the true rates the loss is the noise's: 1% of values scaled to at most 1.
            const double floor = to_dtype(problem.evaluate(log_rates(kTrueRates, dtype)).loss, Dtype::float64).item();
            CHECK(floor > 0);
            CHECK(floor < 1e-4);
        }
        const Rates start{0.1, 1e8, 1e3};
        Var log_k = log_rates(start, dtype);
        log_k.set_requires_grad();
        const Evaluation e = problem.evaluate(log_k);
        backward(e.loss);
        CHECK(e.solution.forward.njac > 0);
        CHECK(e.solution.backward().nlu > 0);
        const Tensor<double> g = to_dtype(log_k.grad(), Dtype::float64).value<double>();
        Rates log_start{};
        for (std::size_t i = 0; i < 3; ++i) log_start[i] = std::log(start[i]);
        const std::array<double, 3> fd = problem.finite_difference_gradient(log_start, 1e-4, 1e-10, 1e-14);
        for (std::size_t i = 0; i < 3; ++i) {
            CAPTURE(i);
            CHECK(g(i) == doctest::Approx(fd[i]).epsilon(1e-4));
        }
    }
}
