// Irregular times: the union and positions on a hand example; one solve over the union gathered
// per sequence against one solve per sequence, values and gradients in all three gradient
// modes; gather's own first and second derivatives; float32; the error messages.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <vector>

#include "odenet/nn.hpp"
#include "odenet/testing/gradcheck.hpp"
#include "nn/time_mlp.hpp"

using namespace odenet;
using namespace odenet::testing;
namespace nn = odenet::nn;

namespace {

using Mlp = odenet::test::TimeMlp;

const ode::Grad kModes[] = {ode::Grad::direct, ode::Grad::adjoint, ode::Grad::checkpointed};

ode::OdeintOptions options(ode::Grad grad) {
    return {.solver = {.method = ode::Method::dopri5, .rtol = 1e-10, .atol = 1e-12}, .grad = grad};
}

// Three sequences, unsorted, one with a repeated time, sharing some times with each other (0.2,
// 0.5), and an empty fourth; start 0.
const std::vector<std::vector<double>> kTimes{{0.9, 0.2, 0.5, 0.2}, {1.3, 0.05}, {0.5, 0.7, 1.0}, {}};
constexpr double kStart = 0.0;

double max_rel_diff(const Tensor<double>& a, const Tensor<double>& b) {
    REQUIRE(a.shape() == b.shape());
    double scale = 0, diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        scale = std::max(scale, std::abs(b.data()[i]));
        diff = std::max(diff, std::abs(a.data()[i] - b.data()[i]));
    }
    return diff / scale;
}

// Sequence b's predictions at its own times, in its own order, from a solve of row b of y0 alone
// over its own sorted distinct times with the start in front: (length, 2).
Var solve_one(const std::shared_ptr<Mlp>& f, const Var& y0, std::size_t b, ode::Grad grad) {
    std::vector<double> own{kStart};
    own.insert(own.end(), kTimes[b].begin(), kTimes[b].end());
    std::sort(own.begin(), own.end());
    own.erase(std::unique(own.begin(), own.end()), own.end());
    Tensor<double> ts = Tensor<double>::from_shape({own.size()});
    std::copy(own.begin(), own.end(), ts.begin());
    const Var ys = nn::odeint(f, slice(y0, 0, b, b + 1), Var(ts), options(grad)).ys;  // (T_b, 1, 2)
    std::vector<std::size_t> at;
    for (double t : kTimes[b]) at.push_back(std::lower_bound(own.begin(), own.end(), t) - own.begin());
    return reshape(index_select(ys, 0, at), {kTimes[b].size(), 2});
}

// Padded targets (batch, max_length, 2); padding holds 1e3 so that a loss without the mask shows.
Var targets(const nn::IrregularTimes& it) {
    Generator gen(5);
    Tensor<double> x = randn<double>({it.batch(), it.max_length, 2}, gen);
    for (std::size_t b = 0; b < it.batch(); ++b)
        for (std::size_t j = it.positions[b].size(); j < it.max_length; ++j) x(b, j, 0) = x(b, j, 1) = 1e3;
    return Var(x);
}

// The gradients of y0 and every parameter after one backward of `loss`.
std::vector<Tensor<double>> gradients(const std::shared_ptr<Mlp>& f, Var y0, const std::function<Var()>& loss) {
    f->zero_grad();
    y0.zero_grad();
    backward(loss());
    std::vector<Tensor<double>> g{y0.grad().value<double>()};
    for (const Var& p : f->parameters()) g.push_back(p.grad().value<double>());
    return g;
}

}  // namespace

TEST_CASE("irregular_times: union, positions and mask on a hand example") {
    const auto it = nn::irregular_times({{0.9, 0.2, 0.5, 0.2}, {}, {1.3, 0.5}}, -1.0);
    CHECK(it.times.dtype() == Dtype::float64);
    CHECK(!it.times.requires_grad());
    CHECK(it.times.value<double>() == Tensor<double>{-1.0, 0.2, 0.5, 0.9, 1.3});
    CHECK(it.positions == std::vector<std::vector<std::size_t>>{{3, 1, 2, 1}, {}, {4, 2}});
    CHECK(it.max_length == 4);
    CHECK(it.batch() == 3);
    CHECK(it.mask().value<double>() == Tensor<double>{{1, 1, 1, 1}, {0, 0, 0, 0}, {1, 1, 0, 0}});
    CHECK(it.mask(Dtype::float32).dtype() == Dtype::float32);

    // A start equal to the first time merges with it; without a start the union starts at the data.
    CHECK(nn::irregular_times({{0.5, 0.25}}, 0.25).times.value<double>() == Tensor<double>{0.25, 0.5});
    const auto no_start = nn::irregular_times({{2.0}, {1.0, 2.0}});
    CHECK(no_start.times.value<double>() == Tensor<double>{1.0, 2.0});
    CHECK(no_start.positions == std::vector<std::vector<std::size_t>>{{1}, {0, 1}});

    // gather by hand: ys[u, b, d] = 100 u + 10 b + d, so each entry names where it came from.
    Tensor<double> ys = Tensor<double>::from_shape({5, 3, 2});
    for (std::size_t u = 0; u < 5; ++u)
        for (std::size_t b = 0; b < 3; ++b)
            for (std::size_t d = 0; d < 2; ++d) ys(u, b, d) = 100.0 * u + 10.0 * b + d;
    const Var g = it.gather(Var(ys));
    const Tensor<double> expected{{{300, 301}, {100, 101}, {200, 201}, {100, 101}},
                                  {{0, 0}, {0, 0}, {0, 0}, {0, 0}},
                                  {{420, 421}, {220, 221}, {0, 0}, {0, 0}}};
    CHECK(g.value<double>() == expected);
    // Rank 2 ys (U, batch): no feature axes.
    CHECK(it.gather(Var(Tensor<double>(xt::view(ys, xt::all(), xt::all(), 0)))).value<double>() ==
          Tensor<double>(xt::view(expected, xt::all(), xt::all(), 0)));
}

TEST_CASE("irregular_times: a single union time, times one ulp apart and an all-empty batch go through odeint") {
    auto f = std::make_shared<Mlp>();
    const Var y0(randn<double>({2, 2}), true);
    // Both sequences observed only at the start: odeint over one time returns y0.
    const auto one = nn::irregular_times({{0.5}, {0.5, 0.5}}, 0.5);
    REQUIRE(one.times.shape() == Shape{1});
    const Var g = one.gather(nn::odeint(f, y0, one.times, options(ode::Grad::adjoint)).ys);
    const Tensor<double>& y = y0.value<double>();
    CHECK(g.value<double>() == Tensor<double>{{{y(0, 0), y(0, 1)}, {0, 0}}, {{y(1, 0), y(1, 1)}, {y(1, 0), y(1, 1)}}});
    // Times one ulp apart stay two union times; odeint solves the tiny interval between them.
    const double t1 = std::nextafter(0.5, 1.0);
    const auto close = nn::irregular_times({{0.5}, {t1}}, 0.0);
    REQUIRE(close.times.shape() == Shape{3});
    const Var h = close.gather(nn::odeint(f, y0, close.times, options(ode::Grad::adjoint)).ys);
    backward(sum(h));
    CHECK(xt::all(xt::isfinite(h.value<double>())));
    CHECK(xt::all(xt::isfinite(y0.grad().value<double>())));
    // No observation at all, only the start: (batch, 0, 2).
    const auto none = nn::irregular_times({{}, {}}, 0.0);
    CHECK(none.max_length == 0);
    CHECK(none.gather(nn::odeint(f, y0, none.times).ys).shape() == Shape{2, 0, 2});
}

TEST_CASE("irregular_times: one solve over the union equals one solve per sequence, values and gradients") {
    manual_seed(3);
    auto f = std::make_shared<Mlp>();
    const Var y0(randn<double>({kTimes.size(), 2}), true);
    const auto it = nn::irregular_times(kTimes, kStart);
    const Var target = targets(it);
    const Var mask = reshape(it.mask(), {it.batch(), it.max_length, 1});

    const auto union_loss = [&](ode::Grad grad, Var* pred) {
        return [&, grad, pred] {
            const Var p = it.gather(nn::odeint(f, y0, it.times, options(grad)).ys);
            if (pred) *pred = p;
            return sum(mask * square(p - target));
        };
    };
    const auto per_sequence_loss = [&](ode::Grad grad, std::vector<Var>* preds) {
        return [&, grad, preds] {
            Var loss = zeros({});
            for (std::size_t b = 0; b < kTimes.size(); ++b) {
                if (kTimes[b].empty()) continue;  // all padding: no term
                const Var p = solve_one(f, y0, b, grad);
                if (preds) preds->push_back(p);
                const Var x = reshape(slice(slice(target, 0, b, b + 1), 1, 0, kTimes[b].size()), p.shape());
                loss = loss + sum(square(p - x));
            }
            return loss;
        };
    };

    for (ode::Grad mode : kModes) {
        CAPTURE(ode::grad_name(mode));
        Var pred;
        std::vector<Var> preds;
        const auto g_union = gradients(f, y0, union_loss(mode, &pred));
        const auto g_each = gradients(f, y0, per_sequence_loss(mode, &preds));
        REQUIRE(pred.shape() == Shape{4, 4, 2});
        // Values. Both solves are accurate to about rtol = 1e-10 of the solution but take
        // different steps (the union's error norm covers four rows and stops at more times), so
        // they agree to a few times that, not to rounding: measured 2.8e-10 relative at worst
        // (the same in every mode). 2e-9 is 7x that and still fails on any wrong position,
        // which moves a prediction by O(0.1).
        for (std::size_t b = 0, k = 0; b < kTimes.size(); ++b) {
            CAPTURE(b);
            const Var row = reshape(slice(pred, 0, b, b + 1), {it.max_length, 2});
            if (kTimes[b].empty()) {
                CHECK(row.value<double>() == xt::zeros<double>({it.max_length, std::size_t{2}}));
                continue;
            }
            CHECK(max_rel_diff(slice(row, 0, 0, kTimes[b].size()).value<double>(), preds[k].value<double>()) < 2e-9);
            ++k;
        }
        // Gradients of y0 and of every parameter: solver-level agreement again. Measured at worst
        // 8e-11 relative (adjoint), 3.6e-10 (checkpointed) and 4.4e-9 (direct: it differentiates
        // each discrete solve exactly, and the two solves' steps differ). 3e-8 is 7x the worst.
        REQUIRE(g_union.size() == g_each.size());
        for (std::size_t i = 0; i < g_union.size(); ++i) {
            CAPTURE(i);
            CHECK(max_rel_diff(g_union[i], g_each[i]) < 3e-8);
        }
        // The empty sequence's row of y0 reaches no loss term.
        CHECK(xt::row(g_union[0], 3) == xt::zeros<double>({2}));
    }
}

TEST_CASE("IrregularTimes::gather passes gradcheck and gradgradcheck in float64") {
    manual_seed(11);
    const auto it = nn::irregular_times({{0.9, 0.2, 0.5, 0.2}, {}, {1.3, 0.5}}, -1.0);
    const auto f = [&](const std::vector<Var>& v) { return it.gather(v[0]); };
    CHECK(gradcheck(f, {randn({5, 3, 2})}));
    CHECK(gradgradcheck(f, {randn({5, 3, 2})}));
    // Padding passes no gradient, even from a NaN in ys at an entry no sequence reads.
    Tensor<double> ys = randn<double>({5, 3, 2});
    ys(0, 1, 0) = std::numeric_limits<double>::quiet_NaN();
    const Var x(ys, true);
    const Var g = it.gather(x);
    backward(sum(g));
    Tensor<double> expected = xt::zeros<double>({5, 3, 2});
    for (std::size_t b = 0; b < 3; ++b)
        for (std::size_t u : it.positions[b]) expected(u, b, 0) += 1, expected(u, b, 1) += 1;
    CHECK(x.grad().value<double>() == expected);
    CHECK(!std::isnan(xt::sum(g.value<double>())()));
}

TEST_CASE("irregular_times in float32: the state's dtype is kept, the times stay float64") {
    manual_seed(4);
    auto f = std::make_shared<Mlp>();
    const auto it = nn::irregular_times(kTimes, kStart);
    const Var y0_64(randn<double>({kTimes.size(), 2}));
    const Var pred64 = it.gather(nn::odeint(f, y0_64, it.times, options(ode::Grad::adjoint)).ys);
    f->to(Dtype::float32);
    const Var y0(to_dtype(y0_64, Dtype::float32).value(), true);
    const Var pred = it.gather(nn::odeint(f, y0, it.times, {.solver = {.rtol = 1e-6, .atol = 1e-6}}).ys);
    CHECK(pred.dtype() == Dtype::float32);
    CHECK(it.mask(Dtype::float32).dtype() == Dtype::float32);
    backward(sum(it.mask(Dtype::float32) * sum(pred, {2})));
    CHECK(y0.grad().dtype() == Dtype::float32);
    CHECK(xt::all(xt::isfinite(y0.grad().value<float>())));
    // rtol 1e-6 in float32 over t in [0, 1.3] with O(1) values: 1e-4 is about 10x that.
    const Tensor<double> p = xt::cast<double>(pred.value<float>());
    CHECK(xt::amax(xt::abs(p - pred64.value<double>()))() < 1e-4);
}

TEST_CASE("irregular_times: the errors name the function and the offending input") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();
    CHECK_THROWS_WITH_AS(nn::irregular_times({}), doctest::Contains("irregular_times: the batch is empty"), ValueError);
    CHECK_THROWS_WITH_AS(nn::irregular_times({{0.1}, {0.2, nan}}), doctest::Contains("times[1][1] is nan"), ValueError);
    CHECK_THROWS_WITH_AS(nn::irregular_times({{inf}}), doctest::Contains("times[0][0] is inf"), ValueError);
    CHECK_THROWS_WITH_AS(nn::irregular_times({{0.1}}, nan), doctest::Contains("start is nan"), ValueError);
    CHECK_THROWS_WITH_AS(nn::irregular_times({{0.5, 0.3}, {0.7}}, 0.4),
                         doctest::Contains("start = 0.40000000000000002 is after times[0][1] = 0.29999999999999999"),
                         ValueError);
    CHECK_THROWS_WITH_AS(nn::irregular_times({{}, {}}), doctest::Contains("every sequence is empty"), ValueError);

    const auto it = nn::irregular_times({{0.1, 0.2}, {0.3}}, 0.0);  // U = 4, batch = 2
    CHECK_THROWS_WITH_AS(it.gather(zeros({3, 2, 5})),
                         "IrregularTimes::gather: ys must be (U = 4 union times, batch = 2, ...), odeint's output "
                         "over times, got (3, 2, 5)",
                         ShapeError);
    CHECK_THROWS_WITH_AS(it.gather(zeros({4, 3})), doctest::Contains("got (4, 3)"), ShapeError);
    CHECK_THROWS_WITH_AS(it.gather(zeros({4})), doctest::Contains("got (4)"), ShapeError);
    CHECK_THROWS_WITH_AS(it.gather(Var()), doctest::Contains("an undefined Var"), ShapeError);
}
