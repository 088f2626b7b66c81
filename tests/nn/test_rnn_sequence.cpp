// run_sequence: the cell stepped over (time, batch, input), masked steps keeping the state
// exactly (h and c), padding reaching no output or gradient, gradients of first and second order
// through a masked run, reverse order, float32, and the errors.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "odenet/nn.hpp"
#include "odenet/testing/gradcheck.hpp"
#include "nn/cell_params.hpp"

using namespace odenet;
using namespace odenet::testing;
namespace nn = odenet::nn;

namespace {

Var step_input(const Var& x, std::size_t t) { return reshape(slice(x, 0, t, t + 1), {x.shape()[1], x.shape()[2]}); }

// Row b of a (batch, hidden) state as a vector, or of outputs (time, batch, hidden) at time t.
std::vector<double> row(const Var& s, std::size_t b) {
    const auto& v = s.value<double>();
    return std::vector<double>(v.data() + b * s.shape()[1], v.data() + (b + 1) * s.shape()[1]);
}
std::vector<double> at(const Var& outputs, std::size_t t, std::size_t b) {
    const std::size_t hidden = outputs.shape()[2], batch = outputs.shape()[1];
    const double* p = outputs.value<double>().data() + (t * batch + b) * hidden;
    return std::vector<double>(p, p + hidden);
}

double max_diff(const std::vector<double>& a, const std::vector<double>& b) {
    double d = 0;
    for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
    return d;
}

}  // namespace

TEST_CASE("run_sequence without a mask is the cell stepped by hand, forwards and in reverse") {
    manual_seed(41);
    nn::GRUCell gru(3, 4);
    nn::LSTMCell lstm(3, 4);
    const Var x = randn({5, 2, 3}), h0 = randn({2, 4}), c0 = randn({2, 4});
    for (bool reverse : {false, true}) {
        CAPTURE(reverse);
        const auto [out, last] = nn::run_sequence(gru, x, {}, {h0, {}}, {.reverse = reverse});
        CHECK(out.shape() == Shape{5, 2, 4});
        CHECK_FALSE(last.c.defined());
        Var h = h0;
        for (std::size_t k = 0; k < 5; ++k) {
            const std::size_t t = reverse ? 4 - k : k;
            h = gru(step_input(x, t), h);
            CHECK(at(out, t, 1) == row(h, 1));  // the same ops in the same order: bitwise equal
        }
        CHECK(last.h.value<double>() == h.value<double>());

        const auto [lout, llast] = nn::run_sequence(lstm, x, {}, {h0, c0}, {.reverse = reverse});
        nn::CellState s{h0, c0};
        for (std::size_t k = 0; k < 5; ++k) s = lstm(step_input(x, reverse ? 4 - k : k), s);
        CHECK(llast.h.value<double>() == s.h.value<double>());
        CHECK(llast.c.value<double>() == s.c.value<double>());
    }
}

TEST_CASE("run_sequence: a masked step keeps h and c exactly, and padding reaches nothing") {
    manual_seed(43);
    const std::size_t time = 5, batch = 4;
    // Sequence 0 is full, 1 has 2 steps, 2 none, 3 has steps 0, 2 and 3 (a missing observation).
    Var mask = nn::mask_from_lengths({5, 2, 0, 4}, time);
    mask.mutable_value<double>()(1, 3) = 0.0;
    Tensor<double> xv = randn<double>({time, batch, 3});
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (std::size_t t = 0; t < time; ++t)
        for (std::size_t b = 0; b < batch; ++b)
            if (mask.value<double>()(t, b) == 0.0)
                for (std::size_t k = 0; k < 3; ++k) xv(t, b, k) = nan;  // padding may hold anything
    nn::LSTMCell lstm(3, 2);
    Var x(xv, true);
    const Var h0 = randn({batch, 2}), c0 = randn({batch, 2});
    const auto [out, last] = nn::run_sequence(lstm, x, mask, {h0, c0});

    for (std::size_t b = 0; b < batch; ++b) {
        CAPTURE(b);
        // Each sequence's state alone, stepped over its real steps only, with a batch of one.
        nn::CellState s{reshape(slice(h0, 0, b, b + 1), {1, 2}), reshape(slice(c0, 0, b, b + 1), {1, 2})};
        std::vector<double> kept = row(h0, b);
        for (std::size_t t = 0; t < time; ++t) {
            if (mask.value<double>()(t, b) == 1.0) {
                s = lstm(reshape(slice(slice(x, 0, t, t + 1), 1, b, b + 1), {1, 3}), s);
                // Another batch size may change the GEMM's summation order: rounding only.
                CHECK(max_diff(at(out, t, b), row(s.h, 0)) < 1e-15);
            } else {
                CHECK(at(out, t, b) == kept);  // exactly the previous state
            }
            kept = at(out, t, b);
        }
        CHECK(row(last.h, b) == kept);
        CHECK(max_diff(row(last.c, b), row(s.c, 0)) < 1e-15);
    }
    CHECK(row(last.h, 2) == row(h0, 2));  // a sequence with no step keeps its initial state...
    CHECK(row(last.c, 2) == row(c0, 2));  // ...and its cell state, bit for bit

    // Gradients: finite everywhere, exactly zero at the padding (which held NaN).
    backward(sum(out * out) + sum(last.c));
    const auto& gx = x.grad().value<double>();
    for (std::size_t t = 0; t < time; ++t)
        for (std::size_t b = 0; b < batch; ++b)
            for (std::size_t k = 0; k < 3; ++k) {
                CHECK(std::isfinite(gx(t, b, k)));
                if (mask.value<double>()(t, b) == 0.0) CHECK(gx(t, b, k) == 0.0);
            }
    for (const Var& p : lstm.parameters()) CHECK(std::isfinite(xt::sum(p.grad().value<double>())()));
}

TEST_CASE("run_sequence passes gradcheck and gradgradcheck through masked steps (float64)") {
    manual_seed(47);
    // Step 1 is partly masked, step 2 fully: both branches of the runner are differentiated.
    const Var mask(Tensor<double>{{1, 1}, {1, 0}, {0, 0}, {1, 1}});
    const Var x = randn({4, 2, 2}), h0 = randn({2, 3}), c0 = randn({2, 3});
    nn::RNNCell rnn(2, 3);
    nn::GRUCell gru(2, 3);
    nn::LSTMCell lstm(2, 3);
    const auto params = [](const nn::RecurrentCell& c) {
        return std::vector<Var>{c.weight_ih, c.weight_hh, c.bias_ih, c.bias_hh};
    };
    SUBCASE("RNNCell, reversed") {
        const auto f = [&](const std::vector<Var>& v) {
            return nn::run_sequence(with_params(rnn, v, 2), v[0], mask, {v[1], {}}, {.reverse = true}).outputs;
        };
        std::vector<Var> in{x, h0};
        for (const Var& p : params(rnn)) in.push_back(p);
        CHECK(gradcheck(f, in));
        CHECK(gradgradcheck(f, in));
    }
    SUBCASE("GRUCell") {
        const auto f = [&](const std::vector<Var>& v) {
            return nn::run_sequence(with_params(gru, v, 2), v[0], mask, {v[1], {}}).outputs;
        };
        std::vector<Var> in{x, h0};
        for (const Var& p : params(gru)) in.push_back(p);
        CHECK(gradcheck(f, in));
        CHECK(gradgradcheck(f, in));
    }
    SUBCASE("LSTMCell: outputs and the last cell state") {
        const auto f = [&](const std::vector<Var>& v) {
            const auto [out, last] = nn::run_sequence(with_params(lstm, v, 3), v[0], mask, {v[1], v[2]});
            return concat({reshape(out, {8, 3}), last.c}, 0);
        };
        std::vector<Var> in{x, h0, c0};
        for (const Var& p : params(lstm)) in.push_back(p);
        CHECK(gradcheck(f, in));
        CHECK(gradgradcheck(f, in));
    }
}

TEST_CASE("run_sequence in float32 follows float64, and an empty sequence returns the initial state") {
    manual_seed(53);
    nn::GRUCell gru(3, 4);
    const Var x = randn({6, 2, 3});
    const Var mask = nn::mask_from_lengths({6, 3}, 6, Dtype::float32);  // a float32 mask for a float64 run
    const Var out64 = nn::run_sequence(gru, x, mask).outputs;
    backward(sum(square(out64)));
    const Tensor<double> grad64 = gru.weight_hh.grad().value<double>();
    gru.to(Dtype::float32);
    const Var out32 = nn::run_sequence(gru, to_dtype(x, Dtype::float32), mask).outputs;
    CHECK(out32.dtype() == Dtype::float32);
    // Six steps of O(1) values in float32 (unit roundoff 6e-8), each contracting the state.
    CHECK(xt::amax(xt::abs(xt::cast<double>(out32.value<float>()) - out64.value<double>()))() < 2e-6);
    // The backward in float32 too: gradients of size O(1) summed over 9 real steps. Measured
    // 6.3e-8 (about one float32 rounding); 1e-6 leaves 15x for other kernels, and a wrong formula
    // or a lost path is off by O(0.1).
    backward(sum(square(out32)));
    REQUIRE(gru.weight_hh.grad().dtype() == Dtype::float32);
    const Tensor<double> grad32 = xt::cast<double>(gru.weight_hh.grad().value<float>());
    CAPTURE(xt::amax(xt::abs(grad32 - grad64))());
    CHECK(xt::amax(xt::abs(grad32 - grad64))() < 1e-6);
    CHECK(xt::amax(xt::abs(grad64))() > 0.1);

    const auto [empty, last] = nn::run_sequence(gru, zeros({0, 2, 3}, Dtype::float32));
    CHECK(empty.shape() == Shape{0, 2, 4});
    CHECK(last.h.value<float>() == xt::zeros<float>({2, 4}));
}

TEST_CASE("mask_from_lengths: 1 for the first lengths[b] steps") {
    const Var m = nn::mask_from_lengths({3, 0, 1}, 3);
    CHECK(m.value<double>() == Tensor<double>{{1, 0, 1}, {1, 0, 0}, {1, 0, 0}});
    CHECK(nn::mask_from_lengths({1}, 2, Dtype::float32).dtype() == Dtype::float32);
    CHECK_THROWS_WITH_AS(nn::mask_from_lengths({2, 5}, 4), "mask_from_lengths: length 5 of sequence 1 exceeds time = 4",
                         ValueError);
}

TEST_CASE("run_sequence: errors name the argument and the shape that was wrong") {
    nn::LSTMCell lstm(3, 2);
    const Var x = zeros({5, 4, 3});
    CHECK_THROWS_WITH_AS(nn::run_sequence(lstm, zeros({5, 3})),
                         "run_sequence: x must be (time, batch, input_size = 3), got (5, 3)", ShapeError);
    CHECK_THROWS_WITH_AS(nn::run_sequence(lstm, zeros({5, 4, 2})),
                         "run_sequence: x must be (time, batch, input_size = 3), got (5, 4, 2)", ShapeError);
    CHECK_THROWS_WITH_AS(nn::run_sequence(lstm, x, zeros({4, 5})),
                         "run_sequence: mask must be (time = 5, batch = 4) like x's first two axes, got (4, 5)",
                         ShapeError);
    CHECK_THROWS_WITH_AS(nn::run_sequence(lstm, x, {}, {zeros({4, 2}), zeros({4, 3})}),
                         "run_sequence: initial c must be (batch = 4, hidden_size = 2), got (4, 3)", ShapeError);
    Var bad = ones({5, 4});
    bad.mutable_value<double>()(2, 1) = 0.5;
    CHECK_THROWS_WITH_AS(nn::run_sequence(lstm, x, bad), "run_sequence: mask entries must be 0 or 1, got 0.500000 at (2, 1)",
                         ValueError);
    CHECK_THROWS_AS(nn::run_sequence(lstm, zeros({5, 4, 3}, Dtype::float32)), DtypeError);
}
