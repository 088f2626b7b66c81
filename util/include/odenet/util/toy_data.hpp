#pragma once
// The 2-D toy densities of FFJORD (Grathwohl et al. 2019, "FFJORD: Free-form continuous
// dynamics for scalable reversible generative models", ICLR; lib/toy_data.py), the usual
// benchmarks for continuous normalizing flows. Each sampler reproduces FFJORD's definition
// (centres, scales, noise, rotations; scikit-learn's make_moons / make_circles / make_swiss_roll
// where FFJORD calls them) with our own Generator, so the distributions match but not the bits.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "odenet/core/random.hpp"
#include "odenet/core/tensor.hpp"

namespace odenet::util {

/// The dataset names sample_toy knows: 8gaussians, 2spirals, checkerboard, moons, pinwheel,
/// rings, circles, swissroll.
const std::vector<std::string>& toy_names();

/// n points of the named 2-D dataset, shape (n, 2), float64.
/// FFJORD returns 5⌊n/5⌋ points for pinwheel and 2⌊n/2⌋ for 2spirals; this returns exactly n
/// (the groups then differ in size by at most one).
/// Throws ValueError for an unknown name, listing the valid ones.
Tensor<double> sample_toy(const std::string& name, std::size_t n, Generator& gen = default_generator());

/// log p(x) for the datasets with a closed-form density (8gaussians, checkerboard); points
/// (n, 2), result (n). Throws ValueError for the others (their density has no closed form).
Tensor<double> toy_log_density(const std::string& name, const Tensor<double>& points);

/// Differential entropy in nats where known: checkerboard ln 32 = 3.4657 (uniform on 8
/// squares of side 2); 8gaussians 2.83188 by quadrature of -∫ p log p. The latter is below the
/// no-overlap value ln 8 + ln(2πe σ²) = 2.8382 (σ = 0.5/1.414) because neighbouring components
/// overlap (centres 6.1σ apart). Both are checked by Monte Carlo in tests/util.
/// A model's mean negative log-likelihood on these data cannot go below this value.
/// nullopt for the others. Throws ValueError for an unknown name.
std::optional<double> toy_entropy(const std::string& name);

}  // namespace odenet::util
