#pragma once
// Time-conditioned layers of the Neural ODE (Chen et al., 2018, code torchdiffeq
// examples/odenet_mnist.py) and FFJORD (Grathwohl et al., 2019, code lib/layers/diffeq_layers)
// dynamics. Each takes (t, x) with t a one-element Var (time is float64 everywhere; it is
// converted to x's dtype with the differentiable to_dtype, so gradients with respect to t flow).
//
// Parameter names follow the originals without the leading underscore ("layer.weight",
// "hyper_bias.weight", "hyper_gate.weight", ...), and so does initialisation order.
#include <array>
#include <cstddef>

#include "odenet/nn/conv2d.hpp"
#include "odenet/nn/linear.hpp"

namespace odenet::nn {

/// Linear on [t, x]: t is prepended as a first input column, as FFJORD's ConcatLinear.
/// x (N, in) -> (N, out); layer.weight is (out, in + 1) with column 0 multiplying t.
class ConcatLinear : public TimeLayer {
public:
    ConcatLinear(std::size_t in_features, std::size_t out_features, LinearOptions options = {});
    Var forward(const Var& t, const Var& x) override;
    Linear layer;  ///< Linear(in + 1, out)

private:
    std::size_t in_;
    std::array<Var, 2> split_[2];  // per dtype: constant matrices selecting W's x columns and t column
};

/// FFJORD's ConcatSquashLinear: y = layer(x) * sigmoid(hyper_gate(t)) + hyper_bias(t), with
/// hyper_gate Linear(1, out) and hyper_bias Linear(1, out, no bias). x (N, in) -> (N, out).
class ConcatSquashLinear : public TimeLayer {
public:
    ConcatSquashLinear(std::size_t in_features, std::size_t out_features, LinearOptions options = {});
    Var forward(const Var& t, const Var& x) override;
    Linear layer;
    Linear hyper_bias;
    Linear hyper_gate;
};

/// Conv2d on x with t as an extra input channel. Like the Neural ODE paper's code
/// (torch.cat([tt, x], 1)), t is PREPENDED as channel 0: layer.weight[:, 0] multiplies t.
/// x (N, C, H, W) -> (N, O, H', W'). Needs the conv2d and concat ops.
class ConcatConv2d : public TimeLayer {
public:
    ConcatConv2d(std::size_t in_channels, std::size_t out_channels, std::size_t kernel_size,
                 Conv2dLayerOptions options = {});
    Var forward(const Var& t, const Var& x) override;
    Conv2d layer;  ///< Conv2d(in + 1, out, k)
};

/// t (one element, any dtype) as a 0-d Var of `dtype`, differentiably. ShapeError if t has more
/// than one element.
Var time_as(const Var& t, Dtype dtype);

}  // namespace odenet::nn
