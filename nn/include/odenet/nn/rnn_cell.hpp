#pragma once
// Recurrent cells with PyTorch's gate equations, parameter names and layout, and initialisation,
// so that weights and published hyper-parameters carry over (torch.nn.RNNCell, GRUCell, LSTMCell).
//
// Each cell holds weight_ih (G·hidden, input), weight_hh (G·hidden, hidden), bias_ih (G·hidden)
// and bias_hh (G·hidden), the G gates stacked along the first axis: G = 1 for RNNCell, 3 for
// GRUCell in the order (r, z, n), 4 for LSTMCell in the order (i, f, g, o). Every parameter is
// drawn from U(-1/sqrt(hidden), 1/sqrt(hidden)), in the order weight_ih, weight_hh, bias_ih,
// bias_hh, from the default generator (manual_seed makes it reproducible).
//
// Inputs are batched: x (batch, input), states (batch, hidden). An undefined state is zeros, as
// PyTorch's hx = None. Errors: ShapeError naming the cell, the argument and its shape;
// DtypeError when an input's dtype differs from the parameters' (convert with to()).
// run_sequence (rnn_sequence.hpp) runs any of them over a (time, batch, input) sequence.
#include <cstddef>

#include "odenet/nn/module.hpp"

namespace odenet::nn {

struct RNNCellOptions {
    bool bias = true;  ///< false: no bias_ih and bias_hh, as PyTorch's bias=False
    Dtype dtype = Dtype::float64;
};

/// A recurrent state: h (batch, hidden) and, for an LSTM, the cell state c (batch, hidden);
/// c is undefined for RNN and GRU cells. Bindable: `auto [h, c] = lstm(x, {h, c});`.
struct CellState {
    Var h;
    Var c;
};

/// What RNNCell, GRUCell and LSTMCell share: the parameters, their layout and the shape checks.
class RecurrentCell : public Module {
public:
    /// One step from x (batch, input) and the state before it; undefined h (or c) means zeros.
    virtual CellState step(const Var& x, const CellState& state) = 0;
    /// True for a cell whose state has a c (LSTMCell).
    virtual bool has_cell_state() const { return false; }

    std::size_t input_size() const { return input_; }
    std::size_t hidden_size() const { return hidden_; }
    std::size_t gates() const { return gates_; }
    Dtype dtype() const { return weight_ih.dtype(); }

    Var weight_ih;  ///< (gates·hidden, input)
    Var weight_hh;  ///< (gates·hidden, hidden)
    Var bias_ih;    ///< (gates·hidden), undefined without bias
    Var bias_hh;    ///< (gates·hidden), undefined without bias

protected:
    /// `name` is the cell's PyTorch name, used in errors. ValueError for a zero size.
    RecurrentCell(const char* name, std::size_t input_size, std::size_t hidden_size, std::size_t gates,
                  RNNCellOptions options);
    /// x W_ihᵀ + b_ih, after checking x (batch, input) and its dtype.
    Var input_gates(const Var& x) const;
    /// h W_hhᵀ + b_hh for h from state_or_zeros.
    Var hidden_gates(const Var& h) const;
    /// The state `v` (`what` is "h" or "c"), checked to be (batch, hidden) in the cell's dtype,
    /// or zeros when undefined.
    Var state_or_zeros(const Var& v, const char* what, std::size_t batch) const;

    const char* name_;

private:
    std::size_t input_, hidden_, gates_;
};

/// h' = tanh(W_ih x + b_ih + W_hh h + b_hh), as torch.nn.RNNCell (nonlinearity "tanh").
class RNNCell : public RecurrentCell {
public:
    RNNCell(std::size_t input_size, std::size_t hidden_size, RNNCellOptions options = {});
    /// x (batch, input), h (batch, hidden) or undefined (zeros) -> h' (batch, hidden).
    Var forward(const Var& x, const Var& h = {});
    Var operator()(const Var& x, const Var& h = {}) { return forward(x, h); }
    CellState step(const Var& x, const CellState& state) override { return {forward(x, state.h), {}}; }
};

/// torch.nn.GRUCell (Cho et al. 2014, EMNLP, eq. 5-8, with PyTorch's placement of b_hn):
///   r = σ(W_ir x + b_ir + W_hr h + b_hr)
///   z = σ(W_iz x + b_iz + W_hz h + b_hz)
///   n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
///   h' = (1 − z) ⊙ n + z ⊙ h
class GRUCell : public RecurrentCell {
public:
    GRUCell(std::size_t input_size, std::size_t hidden_size, RNNCellOptions options = {});
    /// x (batch, input), h (batch, hidden) or undefined (zeros) -> h' (batch, hidden).
    Var forward(const Var& x, const Var& h = {});
    Var operator()(const Var& x, const Var& h = {}) { return forward(x, h); }
    CellState step(const Var& x, const CellState& state) override { return {forward(x, state.h), {}}; }
};

/// torch.nn.LSTMCell (Hochreiter & Schmidhuber 1997 with the forget gate of Gers et al. 2000):
///   i = σ(W_ii x + b_ii + W_hi h + b_hi),  f = σ(W_if x + b_if + W_hf h + b_hf)
///   g = tanh(W_ig x + b_ig + W_hg h + b_hg), o = σ(W_io x + b_io + W_ho h + b_ho)
///   c' = f ⊙ c + i ⊙ g,  h' = o ⊙ tanh(c')
class LSTMCell : public RecurrentCell {
public:
    LSTMCell(std::size_t input_size, std::size_t hidden_size, RNNCellOptions options = {});
    /// x (batch, input), state {h, c} each (batch, hidden) or undefined (zeros) -> {h', c'}.
    CellState forward(const Var& x, const CellState& state = {});
    CellState operator()(const Var& x, const CellState& state = {}) { return forward(x, state); }
    CellState step(const Var& x, const CellState& state) override { return forward(x, state); }
    bool has_cell_state() const override { return true; }
};

}  // namespace odenet::nn
