#include "odenet/nn/loss.hpp"

#include <xtensor/xbuilder.hpp>

#include "odenet/autodiff/ops.hpp"
#include "odenet/core/error.hpp"

namespace odenet::nn::functional {

namespace {
// The one-hot matrix of the labels, as a constant of `dtype`. Picking log_probs[i, labels[i]]
// as Σ (log_probs ⊙ one_hot) keeps the loss in existing differentiable ops (the gradient is
// -one_hot / N, and it is differentiable again); the extra N x K multiply is negligible next
// to the layer that produced the logits.
template <class T>
Var one_hot(const Shape& shape, const std::vector<std::size_t>& labels) {
    Tensor<T> m = xt::zeros<T>(shape);
    for (std::size_t i = 0; i < labels.size(); ++i) m(i, labels[i]) = T(1);
    return Var(std::move(m));
}
}  // namespace

Var nll_loss(const Var& log_probs, const std::vector<std::size_t>& labels, Reduction reduction) {
    if (log_probs.dim() != 2 || log_probs.shape()[0] != labels.size()) {
        throw ShapeError("nll_loss", "expects log_probs (N, K) and N labels, got " + shape_str(log_probs.shape()) + " and " +
                                         std::to_string(labels.size()) + " labels");
    }
    const std::size_t k = log_probs.shape()[1];
    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] >= k) {
            throw ValueError("nll_loss", "label " + std::to_string(labels[i]) + " at index " + std::to_string(i) +
                                             " is out of range for " + std::to_string(k) + " classes");
        }
    }
    const Var mask = log_probs.dtype() == Dtype::float32 ? one_hot<float>(log_probs.shape(), labels)
                                                         : one_hot<double>(log_probs.shape(), labels);
    const Var total = -sum(log_probs * mask);
    return reduction == Reduction::sum ? total : total / static_cast<double>(labels.size());
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
