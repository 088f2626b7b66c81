#include "odenet/nn/loss.hpp"

#include <xtensor/xbuilder.hpp>

#include "odenet/autodiff/ops.hpp"
#include "odenet/core/error.hpp"

namespace odenet::nn::functional {

// -Σ_i log_probs[i, labels[i]] / N: an index_select of the flattened log-probabilities, whose
// gradient (index_add) puts -1/N at each picked entry, and is differentiable again.
Var nll_loss(const Var& log_probs, const std::vector<std::size_t>& labels, Reduction reduction) {
    if (log_probs.dim() != 2) throw ShapeError("nll_loss", "log_probs must be (N, K), got " + shape_str(log_probs.shape()));
    const std::size_t n = log_probs.shape()[0], k = log_probs.shape()[1];
    if (labels.size() != n) {
        throw ShapeError("nll_loss", std::to_string(labels.size()) + " labels for log_probs of shape " +
                                         shape_str(log_probs.shape()));
    }
    if (n == 0) throw ValueError("nll_loss", "empty batch: the mean over 0 samples is undefined");
    std::vector<std::size_t> flat(n);
    for (std::size_t i = 0; i < n; ++i) {
        if (labels[i] >= k) {
            throw ValueError("nll_loss", "label " + std::to_string(labels[i]) + " at index " + std::to_string(i) +
                                             " is out of range for " + std::to_string(k) + " classes");
        }
        flat[i] = i * k + labels[i];
    }
    const Var total = -sum(index_select(reshape(log_probs, {n * k}), 0, flat));
    return reduction == Reduction::sum ? total : total / static_cast<double>(n);
}

Var cross_entropy(const Var& logits, const std::vector<std::size_t>& labels, Reduction reduction) {
    if (logits.dim() != 2) throw ShapeError("cross_entropy", "expects logits (N, K), got " + shape_str(logits.shape()));
    return nll_loss(log_softmax(logits, 1), labels, reduction);
}

Var mse_loss(const Var& pred, const Var& target, Reduction reduction) {
    if (pred.shape() != target.shape()) {
        throw ShapeError("mse_loss", "shapes differ: " + shape_str(pred.shape()) + " and " + shape_str(target.shape()));
    }
    const Var total = sum(square(pred - target));
    return reduction == Reduction::sum ? total : total / static_cast<double>(pred.numel());
}

// Composed from abs: d/dpred = sign(pred - target) / numel, 0 at a tie (abs's convention, and
// torch's), and differentiable again like every composite.
Var l1_loss(const Var& pred, const Var& target, Reduction reduction) {
    if (pred.shape() != target.shape()) {
        throw ShapeError("l1_loss", "shapes differ: " + shape_str(pred.shape()) + " and " + shape_str(target.shape()));
    }
    const Var total = sum(abs(pred - target));
    return reduction == Reduction::sum ? total : total / static_cast<double>(pred.numel());
}

}  // namespace odenet::nn::functional
