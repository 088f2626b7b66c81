#include "odenet/augmented/model.hpp"

#include "odenet/autodiff/ops.hpp"
#include "odenet/core/error.hpp"

namespace odenet::augmented {

Dynamics::Dynamics(std::size_t width, std::size_t hidden, Dtype dtype)
    : fc1_(width, hidden, {.dtype = dtype}), fc2_(hidden, hidden, {.dtype = dtype}), fc3_(hidden, width, {.dtype = dtype}) {
    register_module("fc1", fc1_);
    register_module("fc2", fc2_);
    register_module("fc3", fc3_);
}

// Time enters the first layer only, as an extra input column (their time_dependent = True).
Var Dynamics::forward(const Var& t, const Var& h) { return fc3_(relu(fc2_(relu(fc1_(t, h))))); }

Classifier::Classifier(const ModelOptions& o)
    : block_(std::make_shared<nn::ODEBlock>(std::make_shared<Dynamics>(o.d + o.p, o.hidden, o.dtype),
                                            nn::ODEBlockOptions{.t0 = 0.0, .t1 = 1.0, .augment = o.p, .odeint = o.odeint})),
      head_(o.d + o.p, 1, {.dtype = o.dtype}) {
    register_module("block", block_);
    register_module("head", head_);
}

Var Classifier::features(const Var& x) { return block_->forward(x); }

Var Classifier::forward(const Var& x) { return head_(features(x)); }

Var Classifier::trajectory(const Var& x, const Var& ts) { return block_->trajectory(x, ts); }

// huber(e) = 0.5 m^2 + (|e| - m) with m = min(|e|, 1) = |e| - relu(|e| - 1): written from
// primitives, so its gradient, e clipped to [-1, 1], comes from theirs.
Var huber_loss(const Var& scores, const Var& labels) {
    if (scores.shape() != labels.shape())
        throw ShapeError("huber_loss", "scores " + shape_str(scores.shape()) + " and labels " + shape_str(labels.shape()));
    const Var a = abs(scores - labels);
    const Var beyond = relu(a - 1.0);
    const Var m = a - beyond;
    return mean(0.5 * m * m + beyond);
}

double accuracy(const Tensor<double>& scores, const Tensor<double>& labels) {
    if (scores.size() != labels.size() || scores.size() == 0)
        throw ShapeError("accuracy", "scores " + shape_str(scores.shape()) + " and labels " + shape_str(labels.shape()));
    std::size_t right = 0;
    for (std::size_t i = 0; i < scores.size(); ++i) right += scores.data()[i] * labels.data()[i] > 0;
    return double(right) / double(scores.size());
}

}  // namespace odenet::augmented
