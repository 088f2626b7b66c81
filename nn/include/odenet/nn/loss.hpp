#pragma once
// Losses as PyTorch's torch.nn.functional ones (mean over the batch by default). They live in
// odenet::nn::functional: the loss functions in one namespace, apart from the tensor ops.
#include <cstddef>
#include <vector>

#include "odenet/autodiff/var.hpp"

namespace odenet::nn {

enum class Reduction { mean, sum };

namespace functional {

/// -Σ_i log_probs[i, labels[i]] / N (or the sum). log_probs (N, K); labels in [0, K).
/// ShapeError on shapes, ValueError on a label out of range.
Var nll_loss(const Var& log_probs, const std::vector<std::size_t>& labels, Reduction reduction = Reduction::mean);
/// nll_loss(log_softmax(logits, 1), labels): cross-entropy from logits (N, K) and integer labels.
Var cross_entropy(const Var& logits, const std::vector<std::size_t>& labels, Reduction reduction = Reduction::mean);
/// Σ (pred - target)^2 / numel (or the sum); shapes must be equal (ShapeError).
Var mse_loss(const Var& pred, const Var& target, Reduction reduction = Reduction::mean);
/// Σ |pred - target| / numel (or the sum); shapes must be equal (ShapeError). The gradient
/// sign(pred - target) / numel is taken as 0 where pred == target, as torch.
Var l1_loss(const Var& pred, const Var& target, Reduction reduction = Reduction::mean);

}  // namespace functional

struct CrossEntropyLoss {
    Reduction reduction = Reduction::mean;
    Var operator()(const Var& logits, const std::vector<std::size_t>& labels) const {
        return functional::cross_entropy(logits, labels, reduction);
    }
};

struct NLLLoss {
    Reduction reduction = Reduction::mean;
    Var operator()(const Var& log_probs, const std::vector<std::size_t>& labels) const {
        return functional::nll_loss(log_probs, labels, reduction);
    }
};

struct MSELoss {
    Reduction reduction = Reduction::mean;
    Var operator()(const Var& pred, const Var& target) const { return functional::mse_loss(pred, target, reduction); }
};

struct L1Loss {
    Reduction reduction = Reduction::mean;
    Var operator()(const Var& pred, const Var& target) const { return functional::l1_loss(pred, target, reduction); }
};

}  // namespace odenet::nn
