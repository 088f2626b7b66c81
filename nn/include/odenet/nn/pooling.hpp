#pragma once
// AdaptiveAvgPool2d to a 1x1 map: the global average pooling of the ODE-Net classifier's head.
#include <cstddef>

#include "odenet/nn/module.hpp"

namespace odenet::nn {

class AdaptiveAvgPool2d : public Layer {
public:
    /// Only output_size 1 is supported (ValueError otherwise).
    explicit AdaptiveAvgPool2d(std::size_t output_size = 1);
    /// x (N, C, H, W) -> (N, C, 1, 1), the mean over each map; ShapeError for other ranks.
    Var forward(const Var& x) override;
};

}  // namespace odenet::nn
