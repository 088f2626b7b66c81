#include "odenet/nn/concat_layers.hpp"

#include <xtensor/xbuilder.hpp>

#include "odenet/autodiff/ops.hpp"
#include "odenet/core/error.hpp"

namespace odenet::nn {

Var time_as(const Var& t, Dtype dtype) {
    if (!t.defined() || t.numel() != 1) {
        throw ShapeError("time-conditioned layer", "t must have one element, got " +
                                                       (t.defined() ? shape_str(t.shape()) : std::string("undefined")));
    }
    return to_dtype(t.dim() == 0 ? t : reshape(t, {}), dtype);
}

namespace {
void check_2d(const char* where, const Var& x, std::size_t in) {
    if (x.dim() != 2 || x.shape()[1] != in) {
        throw ShapeError(where, "expects (N, " + std::to_string(in) + "), got " + shape_str(x.shape()));
    }
}

// S_x (in + 1, in) with S_x[j + 1, j] = 1 and e_0 (in + 1): W S_x = W[:, 1:], W e_0 = W[:, 0].
template <class T>
std::array<Var, 2> selectors(std::size_t in) {
    Tensor<T> s_x = xt::zeros<T>({in + 1, in});
    for (std::size_t j = 0; j < in; ++j) s_x(j + 1, j) = T(1);
    Tensor<T> e_0 = xt::zeros<T>({in + 1});
    e_0(0) = T(1);
    return {Var(std::move(s_x)), Var(std::move(e_0))};
}
}  // namespace

ConcatLinear::ConcatLinear(std::size_t in_features, std::size_t out_features, LinearOptions options)
    : layer(in_features + 1, out_features, options), in_(in_features) {
    register_module("layer", layer);
}

// [t, x] Wᵀ + b = x W[:, 1:]ᵀ + t W[:, 0] + b. The columns of W are picked with constant
// selection matrices rather than by building [t, x]: the extra work is (out x (in+1) x in),
// independent of the batch, and only existing matmul ops are needed.
Var ConcatLinear::forward(const Var& t, const Var& x) {
    check_2d("ConcatLinear", x, in_);
    const int d = x.dtype() == Dtype::float32 ? 0 : 1;
    if (!split_[d][0].defined()) split_[d] = d == 0 ? selectors<float>(in_) : selectors<double>(in_);
    const Var w_x = gemm(layer.weight, split_[d][0], false, false);  // (out, in)
    const Var w_t = matmul(layer.weight, split_[d][1]);              // (out)
    Var y = gemm(x, w_x, false, true) + time_as(t, x.dtype()) * w_t;
    return layer.bias.defined() ? y + layer.bias : y;
}

ConcatSquashLinear::ConcatSquashLinear(std::size_t in_features, std::size_t out_features, LinearOptions options)
    : layer(in_features, out_features, options),
      hyper_bias(1, out_features, {.bias = false, .dtype = options.dtype}),
      hyper_gate(1, out_features, {.bias = true, .dtype = options.dtype}) {
    register_module("layer", layer);
    register_module("hyper_bias", hyper_bias);
    register_module("hyper_gate", hyper_gate);
}

Var ConcatSquashLinear::forward(const Var& t, const Var& x) {
    check_2d("ConcatSquashLinear", x, layer.in_features());
    const Var tt = reshape(time_as(t, x.dtype()), {1, 1});
    return layer(x) * sigmoid(hyper_gate(tt)) + hyper_bias(tt);
}

}  // namespace odenet::nn
