// GroupNorm layer over the group_norm op (autodiff/src/ops/norm.cpp). In its own file so that
// programs not using it do not need that op linked.
#include "odenet/autodiff/ops.hpp"
#include "odenet/core/error.hpp"
#include "odenet/nn/init.hpp"
#include "odenet/nn/norm.hpp"

namespace odenet::nn {

GroupNorm::GroupNorm(std::size_t groups, std::size_t channels, GroupNormOptions options)
    : groups_(groups), channels_(channels), eps_(options.eps) {
    if (groups == 0 || channels % groups != 0) {
        throw ValueError("GroupNorm", std::to_string(groups) + " groups do not divide " + std::to_string(channels) +
                                          " channels");
    }
    if (options.affine) {
        weight = ones({channels}, options.dtype);
        bias = zeros({channels}, options.dtype);
        register_parameter("weight", weight);
        register_parameter("bias", bias);
    }
}

Var GroupNorm::forward(const Var& x) {
    if (x.dim() < 2 || x.shape()[1] != channels_) {
        throw ShapeError("GroupNorm", "expects (N, " + std::to_string(channels_) + ", ...), got " + shape_str(x.shape()));
    }
    return group_norm(x, groups_, weight, bias, eps_);
}

}  // namespace odenet::nn
