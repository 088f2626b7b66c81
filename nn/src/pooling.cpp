#include "odenet/nn/pooling.hpp"

#include "odenet/autodiff/ops.hpp"
#include "odenet/core/error.hpp"

namespace odenet::nn {

AdaptiveAvgPool2d::AdaptiveAvgPool2d(std::size_t output_size) {
    if (output_size != 1) {
        throw ValueError("AdaptiveAvgPool2d", "only output size 1 is supported, got " + std::to_string(output_size));
    }
}

Var AdaptiveAvgPool2d::forward(const Var& x) {
    if (x.dim() != 4) throw ShapeError("AdaptiveAvgPool2d", "expects (N, C, H, W), got " + shape_str(x.shape()));
    return mean(x, {2, 3}, /*keepdims=*/true);
}

}  // namespace odenet::nn
