// Losses and log-densities, composed from differentiable ops (so their second derivatives,
// which the CNF's and the adjoint's tests use, come for free).
#include <cmath>
#include <numbers>

#include "dispatch.hpp"
#include "odenet/autodiff/ops.hpp"

namespace odenet {

// mean((pred - target)^2); d/dpred = 2 (pred - target) / n
Var mse_loss(const Var& pred, const Var& target) {
    if (pred.shape() != target.shape()) {
        throw ShapeError("mse_loss", "pred has shape " + shape_str(pred.shape()) + " but target has shape " +
                                         shape_str(target.shape()));
    }
    return mean(square(pred - target));
}

// -mean_i log_probs[i, labels[i]]: an index_select of the flattened log-probabilities, whose
// gradient (index_add) puts -1/N at each picked entry.
Var nll_loss(const Var& log_probs, const std::vector<std::size_t>& labels) {
    if (log_probs.dim() != 2) {
        throw ShapeError("nll_loss", "log_probs must be (N, K), got " + shape_str(log_probs.shape()));
    }
    const std::size_t n = log_probs.shape()[0], k = log_probs.shape()[1];
    if (labels.size() != n) {
        throw ShapeError("nll_loss", std::to_string(labels.size()) + " labels for log_probs of shape " +
                                         shape_str(log_probs.shape()));
    }
    std::vector<std::size_t> flat(n);
    for (std::size_t i = 0; i < n; ++i) {
        if (labels[i] >= k) {
            throw ValueError("nll_loss", "label " + std::to_string(labels[i]) + " at index " + std::to_string(i) +
                                             " is out of range for " + std::to_string(k) + " classes");
        }
        flat[i] = i * k + labels[i];
    }
    return -mean(index_select(reshape(log_probs, {n * k}), 0, flat));
}

Var cross_entropy(const Var& logits, const std::vector<std::size_t>& labels) {
    if (logits.dim() != 2) throw ShapeError("cross_entropy", "logits must be (N, K), got " + shape_str(logits.shape()));
    return nll_loss(log_softmax(logits, 1), labels);
}

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
