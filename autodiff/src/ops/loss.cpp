// The standard normal log-density, composed from differentiable ops (so its second derivatives,
// which the CNF's and the adjoint's tests use, come for free). The losses are nn::functional's.
#include <cmath>
#include <numbers>

#include "dispatch.hpp"
#include "odenet/autodiff/ops.hpp"

namespace odenet {

// log N(z; 0, I) = -|z|²/2 - (D/2) log 2π per sample, D the elements per sample.
Var gaussian_log_density(const Var& z) {
    if (z.dim() == 0) throw ShapeError("gaussian_log_density", "needs a batch axis, got shape ()");
    const std::size_t n = z.shape()[0];
    const double d = n == 0 ? 0.0 : static_cast<double>(z.numel() / n);
    const double log_norm = -0.5 * d * std::log(2.0 * std::numbers::pi);
    std::vector<int> axes;
    for (std::size_t i = 1; i < z.dim(); ++i) axes.push_back(static_cast<int>(i));
    Var sq = square(z);
    if (!axes.empty()) sq = sum(sq, axes);
    return sq * -0.5 + log_norm;
}

}  // namespace odenet
