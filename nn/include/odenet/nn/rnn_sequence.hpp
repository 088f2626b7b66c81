#pragma once
// Running a recurrent cell over a batch of sequences of different lengths (or with missing
// steps), as torch.nn.RNN / GRU / LSTM do over packed sequences: a per-step mask says which
// (time, batch) entries are real, and a masked step keeps the previous state exactly.
#include <cstddef>
#include <vector>

#include "odenet/nn/rnn_cell.hpp"

namespace odenet::nn {

struct SequenceOptions {
    /// Visit the steps from the last time to the first (a recognition network that reads a
    /// series backwards in time). outputs[t] is still the state after the input at time t.
    bool reverse = false;
};

struct SequenceResult {
    Var outputs;     ///< (time, batch, hidden): the hidden state after each step
    CellState last;  ///< the state after the last step visited (c defined for LSTMCell only)
};

/// Runs `cell` over x (time, batch, input). `mask` (time, batch) holds 1 where x[t, b] is an
/// observation and 0 where it is padding, in either dtype; undefined means every step counts.
/// A masked step leaves sequence b's state (h and c) exactly as it was, so outputs[t, b] repeats
/// the previous state and `last` is each sequence's state after its last real step. Padded
/// entries of x never reach the outputs or any gradient (they may hold anything finite or not).
/// `initial` is the state before the first step (undefined h or c: zeros).
/// Throws ShapeError naming run_sequence and the wrong shape (x not (time, batch, input_size),
/// mask not (time, batch), an initial state not (batch, hidden_size)), ValueError for a mask
/// entry other than 0 or 1 (naming its position), DtypeError when x's dtype is not the cell's.
/// An empty sequence (time = 0) returns outputs (0, batch, hidden) and `initial` (or zeros).
SequenceResult run_sequence(RecurrentCell& cell, const Var& x, const Var& mask = {}, const CellState& initial = {},
                            SequenceOptions options = {});

/// The mask of sequences with lengths[b] real steps followed by padding: (time, batch), 1 where
/// t < lengths[b]. ValueError for a length above `time`.
Var mask_from_lengths(const std::vector<std::size_t>& lengths, std::size_t time, Dtype dtype = Dtype::float64);

}  // namespace odenet::nn
