// BatchNorm2d from existing ops: the statistics are means over (N, H, W), so the gradient through
// the batch statistics comes from the autodiff of mean and square, not a hand-written formula.
#include "odenet/autodiff/grad_mode.hpp"
#include "odenet/autodiff/ops.hpp"
#include "odenet/core/error.hpp"
#include "odenet/nn/norm.hpp"

namespace odenet::nn {

BatchNorm2d::BatchNorm2d(std::size_t channels, BatchNormOptions options) : channels_(channels), options_(options) {
    if (channels == 0) throw ValueError("BatchNorm2d", "channels must be positive");
    if (options.affine) {
        weight = ones({channels}, options.dtype);
        bias = zeros({channels}, options.dtype);
        register_parameter("weight", weight);
        register_parameter("bias", bias);
    }
    running_mean = zeros({channels}, options.dtype);
    running_var = ones({channels}, options.dtype);
    register_buffer("running_mean", running_mean);
    register_buffer("running_var", running_var);
}

namespace {
// running <- (1 - m) running + m batch, in place in the buffer's dtype.
void blend(Var& running, const Var& batch, double m) {
    running.set_value(((1.0 - m) * running.detach() + m * batch.detach()).value());
}
}  // namespace

Var BatchNorm2d::forward(const Var& x) {
    if (x.dim() != 4 || x.shape()[1] != channels_) {
        throw ShapeError("BatchNorm2d", "expects (N, " + std::to_string(channels_) + ", H, W), got " + shape_str(x.shape()));
    }
    const Shape per_channel{1, channels_, 1, 1};
    Var mu, var;
    if (is_training()) {
        const std::size_t n = x.shape()[0] * x.shape()[2] * x.shape()[3];
        if (n < 2) throw ValueError("BatchNorm2d", "training needs more than one value per channel");
        mu = mean(x, {0, 2, 3}, true);
        var = mean(square(x - mu), {0, 2, 3}, true);  // biased, as used to normalise
        NoGradGuard no_grad;
        blend(running_mean, reshape(mu, {channels_}), options_.momentum);
        blend(running_var, reshape(var, {channels_}) * (static_cast<double>(n) / static_cast<double>(n - 1)),
              options_.momentum);
    } else {
        mu = reshape(running_mean, per_channel);
        var = reshape(running_var, per_channel);
    }
    Var y = (x - mu) / sqrt(var + options_.eps);
    if (weight.defined()) y = y * reshape(weight, per_channel) + reshape(bias, per_channel);
    return y;
}

}  // namespace odenet::nn
