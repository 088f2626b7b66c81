#pragma once
// The data of examples/cde: two-dimensional spirals turning clockwise or counter-clockwise,
// sampled on a regular grid of which a fixed fraction of points is dropped at random per spiral,
// the irregular, partially observed series of Kidger et al. (2020, section 4.1, where 30% of
// each CharacterTrajectories series is dropped). Every constant is in SpiralOptions; the README
// of the example (docs/EXAMPLES.md) lists the defaults.
//
// Spiral b: angle θ(t) = θ0 + s ω t and radius r(t) = r0 exp(-γ t) about the origin, observed as
// r(t) (cos θ(t), sin θ(t)) + N(0, noise²) per coordinate, at the grid times t_j = j T / (n - 1)
// that survive the drop. s = +1 (counter-clockwise, label 1) or -1 (clockwise, label 0), each
// with probability 1/2; θ0 ~ U[0, 2π), ω ~ U[omega_lo, omega_hi], r0 ~ U[r0_lo, r0_hi].
#include <cstddef>
#include <cstdint>
#include <vector>

#include "odenet/core/tensor.hpp"

namespace odenet::cde {

struct SpiralOptions {
    std::size_t count = 1000;   ///< spirals
    std::size_t points = 100;   ///< grid points per spiral before the drop (n)
    double duration = 10.0;     ///< T: the grid spans [0, T]
    double drop = 0.3;          ///< fraction of each spiral's points removed (rounded to a count)
    double omega_lo = 0.5, omega_hi = 1.0;  ///< angular speed, rad per time unit
    double r0_lo = 0.8, r0_hi = 1.2;        ///< initial radius
    double decay = 0.1;         ///< γ
    double noise = 0.3;         ///< standard deviation of the observation noise
};

struct Spirals {
    std::vector<double> times;           ///< the grid (n,)
    Tensor<double> values;               ///< (count, n, 2): the noisy observations, NaN where dropped
    Tensor<double> clean;                ///< (count, n, 2): the noise-free spiral on the whole grid
    std::vector<std::size_t> labels;     ///< 1 counter-clockwise, 0 clockwise
    std::vector<std::vector<std::size_t>> kept;  ///< per spiral, the grid indices observed, increasing
};

/// Spirals from `seed` (the same seed gives the same spirals). Throws ValueError naming the
/// option for a count or points < 2, a duration <= 0, drop outside [0, 1) or leaving fewer
/// than 2 points, omega or r0 ranges with lo > hi or lo < 0, a negative decay or noise.
Spirals make_spirals(const SpiralOptions& options, std::uint64_t seed);

/// Rows `rows` of a set, as a new set (labels, kept and both tensors).
Spirals select(const Spirals& set, const std::vector<std::size_t>& rows);

}  // namespace odenet::cde
