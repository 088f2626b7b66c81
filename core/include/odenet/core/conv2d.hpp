#pragma once
// 2-D convolution (cross-correlation, as PyTorch) on plain tensors: the forward map and its two
// adjoints, for float and double. autodiff's conv2d ops (autodiff/src/ops/conv.cpp) record these
// kernels; see Note [Convolution as three linear maps] there for how each is the others' backward.
// Which algorithm runs is decided from the geometry alone (Note [Convolution layout] in
// core/src/conv2d_same.cpp); the results are the same up to float rounding either way.
#include <cstddef>

#include "odenet/core/tensor.hpp"

namespace odenet {

struct Conv2dOptions {
    std::size_t stride = 1;
    std::size_t padding = 0;
};

/// The extents of one convolution: input (n, c, h, w), weight (o, c, kh, kw), output
/// (n, o, ho, wo) with ho = (h + 2 pad - kh) / stride + 1 (likewise wo). Made by conv2d_geometry.
struct Conv2dGeometry {
    std::size_t n, c, h, w;  // input
    std::size_t o, kh, kw;   // weight
    std::size_t ho, wo;      // output
    std::size_t stride, pad;

    std::size_t rows() const { return c * kh * kw; }  // K: taps per output pixel
    std::size_t pixels() const { return ho * wo; }    // P: output pixels per sample
    // No channels: every product is an empty sum (and BLAS rejects a leading dimension of 0).
    bool empty() const { return c == 0; }
    Shape input() const { return {n, c, h, w}; }
    Shape weight() const { return {o, c, kh, kw}; }
    Shape output() const { return {n, o, ho, wo}; }
};

/// The geometry of convolving an input of shape `input` (N, C, H, W) with a weight of shape
/// `weight` (O, C, kh, kw). Throws ShapeError naming `op` and the shapes when either is not
/// 4-D, the channels differ, the stride is 0, the kernel does not fit the padded input, or the
/// padded input or the output has 2^63 or more elements.
Conv2dGeometry conv2d_geometry(const Shape& input, const Shape& weight, Conv2dOptions options,
                               const char* op = "conv2d");

/// Throws ShapeError naming `op` unless `g_shape` is the output shape of `geometry` (the shape
/// of a gradient passed to conv2d_input_grad or conv2d_weight_grad).
void check_conv2d_output_shape(const Conv2dGeometry& geometry, const Shape& g_shape, const char* op);

/// y = B(x, w) + bias: x geometry.input(), weight geometry.weight() -> geometry.output();
/// y[n, o, oy, ox] = bias[o] + Σ_{c, i, j} w[o, c, i, j] x[n, c, oy·s + i - pad, ox·s + j - pad]
/// (zero outside the image). bias: O values, or nullptr for none. ShapeError when x or w does
/// not have the geometry's shape.
template <class T>
Tensor<T> conv2d_forward(const Conv2dGeometry& geometry, const Tensor<T>& x, const Tensor<T>& weight,
                         const T* bias = nullptr);

/// (∂B/∂x)ᵀ g, the transposed convolution: g geometry.output(), weight geometry.weight()
/// -> geometry.input(). ShapeError when g or w does not have the geometry's shape.
template <class T>
Tensor<T> conv2d_input_grad(const Conv2dGeometry& geometry, const Tensor<T>& g, const Tensor<T>& weight);

/// (∂B/∂w)ᵀ g: x geometry.input(), g geometry.output() -> geometry.weight(). ShapeError when x
/// or g does not have the geometry's shape.
template <class T>
Tensor<T> conv2d_weight_grad(const Conv2dGeometry& geometry, const Tensor<T>& x, const Tensor<T>& g);

extern template Tensor<float> conv2d_forward(const Conv2dGeometry&, const Tensor<float>&, const Tensor<float>&,
                                             const float*);
extern template Tensor<double> conv2d_forward(const Conv2dGeometry&, const Tensor<double>&, const Tensor<double>&,
                                              const double*);
extern template Tensor<float> conv2d_input_grad(const Conv2dGeometry&, const Tensor<float>&, const Tensor<float>&);
extern template Tensor<double> conv2d_input_grad(const Conv2dGeometry&, const Tensor<double>&, const Tensor<double>&);
extern template Tensor<float> conv2d_weight_grad(const Conv2dGeometry&, const Tensor<float>&, const Tensor<float>&);
extern template Tensor<double> conv2d_weight_grad(const Conv2dGeometry&, const Tensor<double>&, const Tensor<double>&);

}  // namespace odenet
