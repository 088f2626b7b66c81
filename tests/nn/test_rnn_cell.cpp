// RNNCell, GRUCell, LSTMCell: values against the gate equations written out with plain loops,
// PyTorch's parameter names, shapes and initialisation, gradients of first and second order in
// float64 through every input and parameter, float32, and the shape errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <string>
#include <vector>

#include "odenet/nn.hpp"
#include "odenet/testing/gradcheck.hpp"
#include "nn/cell_params.hpp"

using namespace odenet;
using namespace odenet::testing;
namespace nn = odenet::nn;

namespace {

double sigma(double v) { return 1.0 / (1.0 + std::exp(-v)); }

// Row `row` of W v + b, by a plain loop over W's columns (b undefined: no bias).
double affine(const Var& w, const Var& b, const Tensor<double>& v, std::size_t batch, std::size_t row) {
    double s = b.defined() ? b.value<double>()(row) : 0.0;
    for (std::size_t k = 0; k < w.shape()[1]; ++k) s += w.value<double>()(row, k) * v(batch, k);
    return s;
}

// The gate pre-activations of gate `g`, unit j: (W_i x + b_i) and (W_h h + b_h) apart, as GRU's n needs.
struct Pre {
    double i, h;
};
Pre pre(const nn::RecurrentCell& c, const Tensor<double>& x, const Tensor<double>& h, std::size_t b, std::size_t g,
        std::size_t j) {
    const std::size_t row = g * c.hidden_size() + j;
    return {affine(c.weight_ih, c.bias_ih, x, b, row), affine(c.weight_hh, c.bias_hh, h, b, row)};
}

Tensor<double> rnn_reference(const nn::RNNCell& c, const Tensor<double>& x, const Tensor<double>& h) {
    Tensor<double> out = Tensor<double>::from_shape({x.shape(0), c.hidden_size()});
    for (std::size_t b = 0; b < x.shape(0); ++b)
        for (std::size_t j = 0; j < c.hidden_size(); ++j) {
            const Pre p = pre(c, x, h, b, 0, j);
            out(b, j) = std::tanh(p.i + p.h);
        }
    return out;
}

// PyTorch's GRUCell equations, gate order (r, z, n).
Tensor<double> gru_reference(const nn::GRUCell& c, const Tensor<double>& x, const Tensor<double>& h) {
    Tensor<double> out = Tensor<double>::from_shape({x.shape(0), c.hidden_size()});
    for (std::size_t b = 0; b < x.shape(0); ++b)
        for (std::size_t j = 0; j < c.hidden_size(); ++j) {
            const Pre pr = pre(c, x, h, b, 0, j), pz = pre(c, x, h, b, 1, j), pn = pre(c, x, h, b, 2, j);
            const double r = sigma(pr.i + pr.h), z = sigma(pz.i + pz.h);
            const double n = std::tanh(pn.i + r * pn.h);
            out(b, j) = (1 - z) * n + z * h(b, j);
        }
    return out;
}

// PyTorch's LSTMCell equations, gate order (i, f, g, o); returns {h', c'}.
std::pair<Tensor<double>, Tensor<double>> lstm_reference(const nn::LSTMCell& c, const Tensor<double>& x,
                                                         const Tensor<double>& h, const Tensor<double>& cs) {
    Tensor<double> h1 = Tensor<double>::from_shape({x.shape(0), c.hidden_size()}), c1 = h1;
    for (std::size_t b = 0; b < x.shape(0); ++b)
        for (std::size_t j = 0; j < c.hidden_size(); ++j) {
            const Pre pi = pre(c, x, h, b, 0, j), pf = pre(c, x, h, b, 1, j);
            const Pre pg = pre(c, x, h, b, 2, j), po = pre(c, x, h, b, 3, j);
            const double i = sigma(pi.i + pi.h), f = sigma(pf.i + pf.h);
            const double g = std::tanh(pg.i + pg.h), o = sigma(po.i + po.h);
            c1(b, j) = f * cs(b, j) + i * g;
            h1(b, j) = o * std::tanh(c1(b, j));
        }
    return {h1, c1};
}

// A column (n, 1) of the given values: a braced {{a}, {b}} is ambiguous to xtensor.
Tensor<double> column(std::initializer_list<double> values) {
    Tensor<double> t = Tensor<double>::from_shape({values.size(), 1});
    std::copy(values.begin(), values.end(), t.begin());
    return t;
}

Tensor<double> as_double(const Var& v) {
    return v.dtype() == Dtype::float32 ? Tensor<double>(xt::cast<double>(v.value<float>())) : v.value<double>();
}

double max_diff(const Var& a, const Tensor<double>& b) { return xt::amax(xt::abs(as_double(a) - b))(); }

std::vector<std::string> names(const nn::Module& m) {
    std::vector<std::string> out;
    for (const auto& [n, v] : m.named_parameters()) out.push_back(n);
    return out;
}

// Each float64 reference sums at most 8 products of O(1) numbers in another order than the GEMM,
// then goes through at most three transcendental functions: agreement to 1e-14 is rounding.
constexpr double kFloat64Tol = 1e-14;
// float32 (unit roundoff 6e-8) through the same few dozen operations on O(1) values.
constexpr double kFloat32Tol = 2e-6;

}  // namespace

TEST_CASE("recurrent cells: PyTorch's parameter names, shapes and U(-1/sqrt(hidden), 1/sqrt(hidden)) init") {
    manual_seed(5);
    nn::RNNCell rnn(3, 4);
    nn::GRUCell gru(3, 4);
    nn::LSTMCell lstm(3, 4);
    const std::vector<std::string> expected{"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
    CHECK(names(rnn) == expected);
    CHECK(names(gru) == expected);
    CHECK(names(lstm) == expected);
    CHECK(rnn.weight_ih.shape() == Shape{4, 3});
    CHECK(gru.weight_ih.shape() == Shape{12, 3});
    CHECK(gru.weight_hh.shape() == Shape{12, 4});
    CHECK(lstm.weight_hh.shape() == Shape{16, 4});
    CHECK(lstm.bias_ih.shape() == Shape{16});
    CHECK(lstm.bias_hh.shape() == Shape{16});
    CHECK(gru.parameter_count() == 12 * 3 + 12 * 4 + 12 + 12);
    for (const Var& p : lstm.parameters()) CHECK(p.requires_grad());

    nn::GRUCell no_bias(3, 4, {.bias = false});
    CHECK(names(no_bias) == std::vector<std::string>{"weight_ih", "weight_hh"});
    CHECK_FALSE(no_bias.bias_ih.defined());

    // 4·200·(100 + 200 + 2) = 241600 draws for a large LSTM: every parameter within the bound k,
    // the largest within 0.1% of it, the variance k²/3 within 2% (its relative standard error is
    // sqrt(0.8 / n) ≈ 0.2%, so 2% is 10 of them), and the same seed gives the same weights.
    manual_seed(11);
    nn::LSTMCell big(100, 200);
    const double k = 1.0 / std::sqrt(200.0);
    double sum_sq = 0, max_abs = 0;
    std::size_t n = 0;
    for (const Var& p : big.parameters())
        for (double v : p.value<double>()) {
            sum_sq += v * v;
            max_abs = std::max(max_abs, std::abs(v));
            ++n;
        }
    CHECK(n == 4 * 200 * (100 + 200 + 2));
    CHECK(max_abs <= k);
    CHECK(max_abs > 0.999 * k);
    CHECK(sum_sq / n == doctest::Approx(k * k / 3).epsilon(0.02));
    manual_seed(11);
    nn::LSTMCell again(100, 200);
    CHECK(again.weight_hh.value<double>() == big.weight_hh.value<double>());
    CHECK(again.bias_hh.value<double>() == big.bias_hh.value<double>());
}

TEST_CASE("RNNCell, GRUCell and LSTMCell equal their equations written as loops, float64 and float32") {
    manual_seed(21);
    const Tensor<double> x = randn<double>({2, 3}), h = randn<double>({2, 2}), c = randn<double>({2, 2});
    const Tensor<double> zero = xt::zeros<double>({2, 2});
    nn::RNNCell rnn(3, 2);
    nn::GRUCell gru(3, 2);
    nn::LSTMCell lstm(3, 2);
    nn::GRUCell gru_nb(3, 2, {.bias = false});

    CHECK(max_diff(rnn(Var(x), Var(h)), rnn_reference(rnn, x, h)) < kFloat64Tol);
    CHECK(max_diff(gru(Var(x), Var(h)), gru_reference(gru, x, h)) < kFloat64Tol);
    CHECK(max_diff(gru_nb(Var(x), Var(h)), gru_reference(gru_nb, x, h)) < kFloat64Tol);
    const auto [h1, c1] = lstm(Var(x), {Var(h), Var(c)});
    const auto [h_ref, c_ref] = lstm_reference(lstm, x, h, c);
    CHECK(max_diff(h1, h_ref) < kFloat64Tol);
    CHECK(max_diff(c1, c_ref) < kFloat64Tol);
    // An undefined state is zeros, as PyTorch's hx = None.
    CHECK(max_diff(gru(Var(x)), gru_reference(gru, x, zero)) < kFloat64Tol);
    CHECK(max_diff(lstm(Var(x)).c, lstm_reference(lstm, x, zero, zero).second) < kFloat64Tol);
    // The references are not vacuous: the states move by O(0.1) or more.
    CHECK(xt::amax(xt::abs(gru_reference(gru, x, h) - h))() > 0.1);

    // Each cell in float32 against the float64 loops with the same (float32-rounded) weights.
    const Tensor<double> gru_expected = gru_reference(gru, x, h);
    const auto lstm_expected = lstm_reference(lstm, x, h, c);
    const Tensor<double> rnn_expected = rnn_reference(rnn, x, h);
    for (nn::Module* m : std::initializer_list<nn::Module*>{&rnn, &gru, &lstm}) m->to(Dtype::float32);
    const Var x32(Tensor<float>(xt::cast<float>(x))), h32(Tensor<float>(xt::cast<float>(h)));
    const Var c32(Tensor<float>(xt::cast<float>(c)));
    const Var g32 = gru(x32, h32);
    CHECK(g32.dtype() == Dtype::float32);
    CHECK(max_diff(g32, gru_expected) < kFloat32Tol);
    CHECK(max_diff(rnn(x32, h32), rnn_expected) < kFloat32Tol);
    const auto [h32_1, c32_1] = lstm(x32, {h32, c32});
    CHECK(max_diff(h32_1, lstm_expected.first) < kFloat32Tol);
    CHECK(max_diff(c32_1, lstm_expected.second) < kFloat32Tol);
    CHECK_THROWS_AS(gru(Var(x), Var(h)), DtypeError);
}

TEST_CASE("GRUCell and LSTMCell by hand: one unit, one input, weights set to round numbers") {
    // input 1, hidden 1; GRU rows (r, z, n), LSTM rows (i, f, g, o). x = 0.5, h = -0.25, c = 0.75.
    nn::GRUCell gru(1, 1);
    gru.weight_ih.mutable_value<double>() = column({0.5, -1.0, 2.0});
    gru.weight_hh.mutable_value<double>() = column({1.5, 0.25, -0.5});
    gru.bias_ih.mutable_value<double>() = Tensor<double>{0.1, 0.2, 0.3};
    gru.bias_hh.mutable_value<double>() = Tensor<double>{-0.1, 0.4, 0.6};
    // r = σ(0.25 + 0.1 − 0.375 − 0.1) = σ(−0.125); z = σ(−0.5 + 0.2 − 0.0625 + 0.4) = σ(0.0375);
    // n = tanh(1.0 + 0.3 + r (0.125 + 0.6)); h' = (1 − z) n + z (−0.25).
    const double r = sigma(-0.125), z = sigma(0.0375), n = std::tanh(1.3 + r * 0.725);
    const Var hg = gru(Var(column({0.5})), Var(column({-0.25})));
    CHECK(hg.value<double>()(0, 0) == doctest::Approx((1 - z) * n - 0.25 * z).epsilon(1e-14));

    nn::LSTMCell lstm(1, 1);
    lstm.weight_ih.mutable_value<double>() = column({1.0, -0.5, 0.25, 2.0});
    lstm.weight_hh.mutable_value<double>() = column({0.5, 1.0, -2.0, 0.0});
    lstm.bias_ih.mutable_value<double>() = Tensor<double>{0.0, 0.5, 0.0, -1.0};
    lstm.bias_hh.mutable_value<double>() = Tensor<double>{0.125, 0.0, 0.5, 0.0};
    // i = σ(0.5 − 0.125 + 0.125) = σ(0.5); f = σ(−0.25 + 0.5 − 0.25) = σ(0); g = tanh(0.125 + 0.5 + 0.5)
    // = tanh(1.125); o = σ(1 − 1) = σ(0); c' = ½·0.75 + σ(0.5) tanh(1.125); h' = ½ tanh(c').
    const auto [h1, c1] = lstm(Var(column({0.5})), {Var(column({-0.25})), Var(column({0.75}))});
    const double c_expected = 0.375 + sigma(0.5) * std::tanh(1.125);
    CHECK(c1.value<double>()(0, 0) == doctest::Approx(c_expected).epsilon(1e-14));
    CHECK(h1.value<double>()(0, 0) == doctest::Approx(0.5 * std::tanh(c_expected)).epsilon(1e-14));
}

TEST_CASE("recurrent cells pass gradcheck and gradgradcheck in float64, every input and parameter") {
    manual_seed(31);
    nn::RNNCell rnn(4, 3);
    nn::GRUCell gru(4, 3);
    nn::LSTMCell lstm(4, 3);
    const Var x = randn({2, 4}), h = randn({2, 3}), c = randn({2, 3});
    const auto f_rnn = [&](const std::vector<Var>& v) { return with_params(rnn, v, 2)(v[0], v[1]); };
    const auto f_gru = [&](const std::vector<Var>& v) { return with_params(gru, v, 2)(v[0], v[1]); };
    const auto f_lstm = [&](const std::vector<Var>& v) {
        const auto [h1, c1] = with_params(lstm, v, 3)(v[0], {v[1], v[2]});
        return concat({h1, c1}, 1);  // both outputs checked
    };
    const auto params = [](const nn::RecurrentCell& cell) {
        return std::vector<Var>{cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh};
    };
    std::vector<Var> in_rnn{x, h}, in_gru{x, h}, in_lstm{x, h, c};
    for (const Var& p : params(rnn)) in_rnn.push_back(p);
    for (const Var& p : params(gru)) in_gru.push_back(p);
    for (const Var& p : params(lstm)) in_lstm.push_back(p);
    SUBCASE("RNNCell") {
        CHECK(gradcheck(f_rnn, in_rnn));
        CHECK(gradgradcheck(f_rnn, in_rnn));
    }
    SUBCASE("GRUCell") {
        CHECK(gradcheck(f_gru, in_gru));
        CHECK(gradgradcheck(f_gru, in_gru));
    }
    SUBCASE("LSTMCell") {
        CHECK(gradcheck(f_lstm, in_lstm));
        CHECK(gradgradcheck(f_lstm, in_lstm));
    }
}

TEST_CASE("recurrent cells: errors name the cell, the argument and its shape") {
    nn::GRUCell gru(3, 2);
    nn::LSTMCell lstm(3, 2);
    CHECK_THROWS_WITH_AS(gru(zeros({4, 5})), "GRUCell: input x must be (batch, input_size = 3), got (4, 5)", ShapeError);
    CHECK_THROWS_WITH_AS(gru(zeros({3})), "GRUCell: input x must be (batch, input_size = 3), got (3)", ShapeError);
    CHECK_THROWS_WITH_AS(gru(zeros({4, 3}), zeros({4, 3})),
                         "GRUCell: state h must be (batch = 4, hidden_size = 2), got (4, 3)", ShapeError);
    CHECK_THROWS_WITH_AS(lstm(zeros({4, 3}), {zeros({4, 2}), zeros({2, 2})}),
                         "LSTMCell: state c must be (batch = 4, hidden_size = 2), got (2, 2)", ShapeError);
    CHECK_THROWS_WITH_AS(gru(zeros({4, 3}, Dtype::float32)),
                         doctest::Contains("GRUCell: input x is float32 but the parameters are float64"), DtypeError);
    CHECK_THROWS_WITH_AS(nn::RNNCell(0, 2), "RNNCell: input_size and hidden_size must be positive, got 0 and 2",
                         ValueError);
}
