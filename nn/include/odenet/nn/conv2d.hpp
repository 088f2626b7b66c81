#pragma once
// Conv2d: 2-D cross-correlation (as every deep-learning library), x (N, C, H, W) ->
// (N, O, H', W') with H' = (H + 2 padding - k) / stride + 1. Square kernels, equal stride and
// padding on both axes (the ODE-Net's layers). Initialised as PyTorch's nn.Conv2d.
#include <cstddef>

#include "odenet/nn/module.hpp"

namespace odenet::nn {

struct Conv2dLayerOptions {
    std::size_t stride = 1;
    std::size_t padding = 0;
    bool bias = true;
    Dtype dtype = Dtype::float64;
};

class Conv2d : public Layer {
public:
    Conv2d(std::size_t in_channels, std::size_t out_channels, std::size_t kernel_size, Conv2dLayerOptions options = {});
    /// Uses the conv2d op (ops.hpp); ShapeError if x is not (N, in_channels, H, W).
    Var forward(const Var& x) override;

    Var weight;  ///< (O, C, k, k)
    Var bias;    ///< (O), undefined without bias

private:
    std::size_t in_, out_, kernel_;
    Conv2dLayerOptions options_;
};

}  // namespace odenet::nn
