// ConcatConv2d, in its own file because it needs the conv2d and concat ops.
#include "odenet/autodiff/ops.hpp"
#include "odenet/core/error.hpp"
#include "odenet/nn/concat_layers.hpp"

namespace odenet::nn {

ConcatConv2d::ConcatConv2d(std::size_t in_channels, std::size_t out_channels, std::size_t kernel_size,
                           Conv2dLayerOptions options)
    : layer(in_channels + 1, out_channels, kernel_size, options) {
    register_module("layer", layer);
}

Var ConcatConv2d::forward(const Var& t, const Var& x) {
    if (x.dim() != 4) throw ShapeError("ConcatConv2d", "expects (N, C, H, W), got " + shape_str(x.shape()));
    const Shape& s = x.shape();
    const Var tt = ones({s[0], 1, s[2], s[3]}, x.dtype()) * time_as(t, x.dtype());
    return layer(concat({tt, x}, 1));
}

}  // namespace odenet::nn
