#include "odenet/latent_ode/spirals.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "odenet/core/error.hpp"

namespace odenet::latent_ode {

namespace {

// Point k of a reference curve (k in [0, total)).
void curve_point(const SpiralConfig& c, bool clockwise, std::size_t k, double& x, double& y) {
    const double t = c.stop * double(k) / double(c.total - 1);
    if (clockwise) {
        const double z = c.stop + 1.0 - t;  // +1: the radius 50 b / z stays finite at t = stop
        const double r = c.a + c.b * 50.0 / z;
        x = r * std::cos(z) - 5.0, y = r * std::sin(z);
    } else {
        const double r = c.a + c.b * t;
        x = r * std::cos(t) + 5.0, y = r * std::sin(t);
    }
}

}  // namespace

Spirals make_spirals(const SpiralConfig& c, std::uint64_t seed) {
    const std::size_t window = c.observed + c.extrapolated;
    if (c.count == 0 || c.observed == 0 || c.total < 2 || c.observed + window > c.total)
        throw ValueError("make_spirals", "need count >= 1, observed >= 1 and observed + (observed + extrapolated) <= total; got count " +
                                             std::to_string(c.count) + ", observed " + std::to_string(c.observed) +
                                             ", extrapolated " + std::to_string(c.extrapolated) + ", total " + std::to_string(c.total));
    if (!(c.stop > 0) || !std::isfinite(c.stop) || !(c.noise_std >= 0) || !std::isfinite(c.noise_std))
        throw ValueError("make_spirals", "stop must be finite and > 0, noise_std finite and >= 0");
    Generator gen(seed);
    Spirals s;
    s.clean = Tensor<double>::from_shape({c.count, window, 2});
    for (std::size_t k = 0; k < window; ++k) s.times.push_back(c.stop * double(k) / double(c.total - 1));
    for (std::size_t i = 0; i < c.count; ++i) {
        // The start: uniform in [observed, total - window], away from the curve's two ends.
        const std::size_t start = c.observed + std::size_t(gen.below(c.total - window - c.observed + 1));
        const bool clockwise = gen.uniform() < 0.5;
        s.clockwise.push_back(clockwise ? 1 : 0);
        for (std::size_t k = 0; k < window; ++k) curve_point(c, clockwise, start + k, s.clean(i, k, 0), s.clean(i, k, 1));
    }
    s.noisy = s.clean;
    for (double& v : s.noisy) v += c.noise_std * gen.normal();
    return s;
}

std::vector<std::vector<std::size_t>> subsample(std::size_t count, std::size_t observed, std::size_t n, Generator& gen) {
    if (n == 0 || n > observed)
        throw ValueError("subsample", "n = " + std::to_string(n) + " observations of " + std::to_string(observed) +
                                          " points: n must be in [1, " + std::to_string(observed) + "]");
    std::vector<std::vector<std::size_t>> out(count);
    std::vector<std::size_t> all(observed);
    for (auto& chosen : out) {
        for (std::size_t k = 0; k < observed; ++k) all[k] = k;
        for (std::size_t k = 0; k < n; ++k) std::swap(all[k], all[k + std::size_t(gen.below(observed - k))]);  // partial Fisher-Yates
        chosen.assign(all.begin(), all.begin() + std::ptrdiff_t(n));
        std::sort(chosen.begin(), chosen.end());
    }
    return out;
}

}  // namespace odenet::latent_ode
