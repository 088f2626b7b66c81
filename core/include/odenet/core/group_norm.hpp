#pragma once
// Group normalisation (Wu & He, 2018, "Group Normalization", ECCV, eq. 1-3) on plain tensors:
// the fused forward and first-order backward kernels (Note [Fused group norm] in
// core/src/group_norm.cpp). autodiff's group_norm op (autodiff/src/ops/norm.cpp) records them.
#include <cstddef>
#include <optional>

#include "odenet/core/tensor.hpp"

namespace odenet {

/// x (N, C, spatial...) seen as n samples of c channels in `groups` groups of c / groups
/// channels, each channel `spatial` values. Made by group_norm_layout.
struct GroupNormLayout {
    std::size_t n, c, groups, spatial;
    std::size_t channels_per_group() const { return c / groups; }
    std::size_t per_group() const { return c / groups * spatial; }  // values normalised together
    Shape per_channel() const { return {c}; }                       // the shape of weight and bias
};

/// The layout of normalising an input of shape `x` (N, C, ...) over `groups` groups. Throws
/// ShapeError naming "group_norm" when x has fewer than 2 axes, or groups is 0 or does not
/// divide C.
GroupNormLayout group_norm_layout(const Shape& x, std::size_t groups);

/// y = (x - μ) / √(σ² + eps) · weight[c] + bias[c], μ and the biased variance σ² taken per
/// sample over the group's channels and all spatial positions (as PyTorch). weight and bias:
/// C values each, or nullptr for 1 and 0. ShapeError when x does not have the layout's size.
template <class T>
Tensor<T> group_norm_forward(const GroupNormLayout& layout, const Tensor<T>& x, const T* weight, const T* bias,
                             double eps);

/// The gradients of ⟨group_norm_forward(x, weight, bias), g⟩ that were asked for; the others
/// are empty. dx has x's shape, dweight and dbias layout.per_channel().
template <class T>
struct GroupNormGrads {
    std::optional<Tensor<T>> dx, dweight, dbias;
};
struct GroupNormNeeds {
    bool dx = true, dweight = true, dbias = true;
};

/// The first-order backward of group_norm_forward for the gradient g (x's shape), in one fused
/// pass per group (bias is not needed: it does not enter any gradient). ShapeError when x or g
/// does not have the layout's size.
template <class T>
GroupNormGrads<T> group_norm_backward(const GroupNormLayout& layout, const Tensor<T>& x, const Tensor<T>& g,
                                      const T* weight, double eps, GroupNormNeeds needs = {});

extern template Tensor<float> group_norm_forward(const GroupNormLayout&, const Tensor<float>&, const float*,
                                                 const float*, double);
extern template Tensor<double> group_norm_forward(const GroupNormLayout&, const Tensor<double>&, const double*,
                                                  const double*, double);
extern template GroupNormGrads<float> group_norm_backward(const GroupNormLayout&, const Tensor<float>&,
                                                          const Tensor<float>&, const float*, double, GroupNormNeeds);
extern template GroupNormGrads<double> group_norm_backward(const GroupNormLayout&, const Tensor<double>&,
                                                           const Tensor<double>&, const double*, double,
                                                           GroupNormNeeds);

}  // namespace odenet
