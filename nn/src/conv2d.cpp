// Conv2d layer over the conv2d op (autodiff/src/ops/conv.cpp).
#include "odenet/nn/conv2d.hpp"

#include "odenet/autodiff/ops.hpp"
#include "odenet/core/error.hpp"
#include "odenet/nn/init.hpp"

namespace odenet::nn {

Conv2d::Conv2d(std::size_t in_channels, std::size_t out_channels, std::size_t kernel_size, Conv2dLayerOptions options)
    : in_(in_channels), out_(out_channels), kernel_(kernel_size), options_(options) {
    if (in_ == 0 || out_ == 0 || kernel_ == 0 || options.stride == 0) {
        throw ValueError("Conv2d", "channels, kernel size and stride must be positive");
    }
    weight = zeros({out_, in_, kernel_, kernel_}, options.dtype);
    if (options.bias) bias = zeros({out_}, options.dtype);
    init::default_linear_init(weight, &bias);
    register_parameter("weight", weight);
    if (options.bias) register_parameter("bias", bias);
}

Var Conv2d::forward(const Var& x) {
    if (x.dim() != 4 || x.shape()[1] != in_) {
        throw ShapeError("Conv2d", "expects (N, " + std::to_string(in_) + ", H, W), got " + shape_str(x.shape()));
    }
    return conv2d(x, weight, bias, {.stride = options_.stride, .padding = options_.padding});
}

}  // namespace odenet::nn
