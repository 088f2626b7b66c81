#pragma once
// The spirals of the Neural ODE paper's section 5.1 (Chen et al. 2018, Figure 8 and Table 2):
// two reference curves in the plane, an Archimedean spiral turning counter-clockwise around
// (5, 0) and a hyperbolic one turning clockwise around (-5, 0), each sampled at `total` times
// over [0, stop]. Every spiral of the data set picks one of the two curves with probability 1/2
// and a random starting point on it, and reads `window` consecutive points from there; Gaussian
// noise is added to the observations. The constants are torchdiffeq's examples/latent_ode.py
// (the paper's public code): 1000 spirals, 1000 points over [0, 6π], a = 0, b = 0.3, noise 0.3.
// The window here is twice the paper's 100 points: the first `observed` points are the ones a
// model may see (n of them, subsampled), the `window - observed` after them are what Table 2's
// predictive RMSE is measured on ("the 100 time points extending beyond those used for training").
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <vector>

#include "odenet/core/random.hpp"
#include "odenet/core/tensor.hpp"

namespace odenet::latent_ode {

struct SpiralConfig {
    std::size_t count = 1000;     ///< spirals in the set
    std::size_t total = 1000;     ///< points of each reference curve over [0, stop]
    std::size_t observed = 100;   ///< points a model may observe, from the spiral's start
    std::size_t extrapolated = 100;  ///< points after them, for the predictive RMSE
    double stop = 6 * std::numbers::pi;
    double a = 0.0, b = 0.3;      ///< radius a + b·t (counter-clockwise), a + 50 b / (stop + 1 - t) (clockwise)
    double noise_std = 0.3;       ///< of the Gaussian observation noise
};

struct Spirals {
    Tensor<double> clean;       ///< (count, observed + extrapolated, 2): points on the curves
    Tensor<double> noisy;       ///< clean plus noise: what a model is given and scored against
    std::vector<double> times;  ///< (observed + extrapolated): the window's times, from 0, spacing stop / (total - 1)
    std::vector<int> clockwise; ///< per spiral, 1 for the clockwise curve
};

/// `config.count` spirals from `seed`. A start is drawn uniformly from [observed, total - window]
/// (the original draws from [observed, total - observed) for its shorter window: away from the
/// curve's start; here the window may end on the curve's last point). ValueError unless
/// observed + window <= total, or when a constant is out of range.
Spirals make_spirals(const SpiralConfig& config, std::uint64_t seed);

/// For each of `count` spirals, n distinct indices in [0, observed), sorted: the irregular
/// observation times of Table 2 ("n points subsampled without replacement").
std::vector<std::vector<std::size_t>> subsample(std::size_t count, std::size_t observed, std::size_t n, Generator& gen);

}  // namespace odenet::latent_ode
