#pragma once
// Irregularly sampled sequences (the latent ODE of Chen et al. 2018, section 5): each sequence of
// a batch is observed at its own times. One odeint over the sorted union of all the times serves
// the whole batch; `gather` then picks each sequence's predictions at its own times, padded to a
// rectangle, and `mask` says which entries are real, for the loss (as torchdiffeq's latent ODE
// example and Rubanova et al. 2019 do by hand).
//
//   auto it = nn::irregular_times({{0.3, 1.2}, {0.1, 0.3, 2.0}}, /*start=*/0.0);
//   Var ys = nn::odeint(f, z0, it.times);                // (U, batch, latent) over the union
//   Var pred = it.gather(ys);                            // (batch, max_length, latent)
//   Var m = reshape(it.mask(), {it.batch(), it.max_length, 1});     // broadcasts over features
//   Var loss = -sum(nn::gaussian_log_likelihood(x, pred, 0.1, m));  // x: padded observations
//
// Input rules, by design:
// - a sequence's times may come in any order and may repeat: gather keeps the sequence's own
//   order (entry [b, j] is the prediction at times[b][j]), and equal times share one union time;
// - an empty sequence is allowed (its row is all padding);
// - the union is exact: times that differ in the last bit are two union times (odeint solves the
//   tiny interval between them; nothing is rounded or merged).
#include <cstddef>
#include <optional>
#include <vector>

#include "odenet/autodiff/var.hpp"

namespace odenet::nn {

struct IrregularTimes {
    Var times;  ///< (U,) float64 constant, strictly increasing: the union (and start, if given)
    /// positions[b][j]: the index into `times` of sequence b's j-th observation.
    std::vector<std::vector<std::size_t>> positions;
    std::size_t max_length = 0;  ///< the longest sequence's number of observations

    std::size_t batch() const { return positions.size(); }
    /// (batch, max_length) constant in `dtype`: 1 where j < positions[b].size(), 0 for padding.
    Var mask(Dtype dtype = Dtype::float64) const;
    /// ys (U, batch, ...) (odeint's output over `times`, y0 with the batch as its first axis) ->
    /// (batch, max_length, ...) with entry [b, j] = ys[positions[b][j], b]. Padding entries are
    /// exactly 0 and pass no gradient back to ys (even where ys is not finite). Differentiable
    /// to every order (index_select then index_add), float32 or float64.
    /// ShapeError naming IrregularTimes::gather and both shapes unless ys.shape()[0] == U and
    /// ys.shape()[1] == batch.
    Var gather(const Var& ys) const;
};

/// The sorted union of the batch's observation times, each sequence's positions in it, and its
/// longest length. `start` (the time of y0, e.g. a latent ODE's t0) is included in the union
/// when given, so times[0] == start and odeint starts there.
/// Throws ValueError naming irregular_times and: an empty batch; a NaN or Inf time (with its
/// sequence and position, times[b][j]); a non-finite start; a start after the smallest time
/// (both named); no time at all (every sequence empty and no start).
IrregularTimes irregular_times(const std::vector<std::vector<double>>& times, std::optional<double> start = {});

}  // namespace odenet::nn
