#include "odenet/nn/rnn_cell.hpp"

#include <cmath>
#include <string>

#include "odenet/autodiff/ops.hpp"
#include "odenet/core/error.hpp"
#include "odenet/nn/init.hpp"

// The cells compose existing ops (gemm, slice, sigmoid, tanh, mul, add), so their gradients of
// every order come from those ops' formulas and no op is added.

namespace odenet::nn {

RecurrentCell::RecurrentCell(const char* name, std::size_t input_size, std::size_t hidden_size, std::size_t gates,
                             RNNCellOptions options)
    : name_(name), input_(input_size), hidden_(hidden_size), gates_(gates) {
    if (input_ == 0 || hidden_ == 0) {
        throw ValueError(name_, "input_size and hidden_size must be positive, got " + std::to_string(input_) +
                                    " and " + std::to_string(hidden_));
    }
    const std::size_t rows = gates_ * hidden_;
    weight_ih = zeros({rows, input_}, options.dtype);
    weight_hh = zeros({rows, hidden_}, options.dtype);
    if (options.bias) {
        bias_ih = zeros({rows}, options.dtype);
        bias_hh = zeros({rows}, options.dtype);
    }
    // PyTorch's RNNBase.reset_parameters: every parameter U(-k, k), k = 1/sqrt(hidden), drawn in
    // registration order.
    const double k = 1.0 / std::sqrt(static_cast<double>(hidden_));
    for (Var* p : {&weight_ih, &weight_hh, &bias_ih, &bias_hh})
        if (p->defined()) init::uniform_(*p, -k, k);
    register_parameter("weight_ih", weight_ih);
    register_parameter("weight_hh", weight_hh);
    if (options.bias) {
        register_parameter("bias_ih", bias_ih);
        register_parameter("bias_hh", bias_hh);
    }
}

Var RecurrentCell::input_gates(const Var& x) const {
    if (!x.defined()) throw ValueError(name_, "input x is undefined");
    if (x.dim() != 2 || x.shape()[1] != input_) {
        throw ShapeError(name_, "input x must be (batch, input_size = " + std::to_string(input_) + "), got " +
                                    shape_str(x.shape()));
    }
    if (x.dtype() != dtype()) {
        throw DtypeError(name_, std::string("input x is ") + dtype_name(x.dtype()) + " but the parameters are " +
                                    dtype_name(dtype()) + " (convert the cell with to())");
    }
    const Var g = gemm(x, weight_ih, false, true);
    return bias_ih.defined() ? g + bias_ih : g;
}

Var RecurrentCell::hidden_gates(const Var& h) const {
    const Var g = gemm(h, weight_hh, false, true);
    return bias_hh.defined() ? g + bias_hh : g;
}

Var RecurrentCell::state_or_zeros(const Var& v, const char* what, std::size_t batch) const {
    if (!v.defined()) return zeros({batch, hidden_}, dtype());
    if (v.shape() != Shape{batch, hidden_}) {
        throw ShapeError(name_, std::string("state ") + what + " must be (batch = " + std::to_string(batch) +
                                    ", hidden_size = " + std::to_string(hidden_) + "), got " + shape_str(v.shape()));
    }
    if (v.dtype() != dtype()) {
        throw DtypeError(name_, std::string("state ") + what + " is " + dtype_name(v.dtype()) +
                                    " but the parameters are " + dtype_name(dtype()));
    }
    return v;
}

RNNCell::RNNCell(std::size_t input_size, std::size_t hidden_size, RNNCellOptions options)
    : RecurrentCell("RNNCell", input_size, hidden_size, 1, options) {}

Var RNNCell::forward(const Var& x, const Var& h) {
    const Var gi = input_gates(x);
    return tanh(gi + hidden_gates(state_or_zeros(h, "h", x.shape()[0])));
}

GRUCell::GRUCell(std::size_t input_size, std::size_t hidden_size, RNNCellOptions options)
    : RecurrentCell("GRUCell", input_size, hidden_size, 3, options) {}

Var GRUCell::forward(const Var& x, const Var& h_in) {
    const std::size_t n_h = hidden_size();
    const Var gi = input_gates(x);
    const Var h = state_or_zeros(h_in, "h", x.shape()[0]);
    const Var gh = hidden_gates(h);
    // r and z share one sigmoid over the first 2·hidden columns.
    const Var rz = sigmoid(slice(gi, 1, 0, 2 * n_h) + slice(gh, 1, 0, 2 * n_h));
    const Var r = slice(rz, 1, 0, n_h);
    const Var z = slice(rz, 1, n_h, 2 * n_h);
    const Var n = tanh(slice(gi, 1, 2 * n_h, 3 * n_h) + r * slice(gh, 1, 2 * n_h, 3 * n_h));
    return n + z * (h - n);  // (1 − z) ⊙ n + z ⊙ h with one product fewer
}

LSTMCell::LSTMCell(std::size_t input_size, std::size_t hidden_size, RNNCellOptions options)
    : RecurrentCell("LSTMCell", input_size, hidden_size, 4, options) {}

CellState LSTMCell::forward(const Var& x, const CellState& state) {
    const std::size_t n_h = hidden_size();
    const Var gi = input_gates(x);
    const std::size_t batch = x.shape()[0];
    const Var h = state_or_zeros(state.h, "h", batch);
    const Var c = state_or_zeros(state.c, "c", batch);
    const Var s = gi + hidden_gates(h);
    // i and f share one sigmoid over the first 2·hidden columns.
    const Var i_f = sigmoid(slice(s, 1, 0, 2 * n_h));
    const Var i = slice(i_f, 1, 0, n_h);
    const Var f = slice(i_f, 1, n_h, 2 * n_h);
    const Var g = tanh(slice(s, 1, 2 * n_h, 3 * n_h));
    const Var o = sigmoid(slice(s, 1, 3 * n_h, 4 * n_h));
    const Var c_next = f * c + i * g;
    return {o * tanh(c_next), c_next};
}

}  // namespace odenet::nn
