// The entry points of core/conv2d.hpp: the geometry and its checks, then the choice between the
// same-width path and the implicit one (see Note [Convolution layout] in conv2d_same.cpp).
#include "odenet/core/conv2d.hpp"

#include <algorithm>
#include <limits>
#include <string>

#include <xtensor/xbuilder.hpp>

#include "conv2d_paths.hpp"
#include "odenet/core/error.hpp"

namespace odenet {

using conv2d_detail::same_width;

Conv2dGeometry conv2d_geometry(const Shape& x, const Shape& w, Conv2dOptions opt, const char* op) {
    if (x.size() != 4 || w.size() != 4) {
        throw ShapeError(op, "needs input (N, C, H, W) and weight (O, C, kh, kw), got " + shape_str(x) + " and " + shape_str(w));
    }
    if (x[1] != w[1]) {
        throw ShapeError(op, "input " + shape_str(x) + " has " + std::to_string(x[1]) + " channels but weight " +
                                 shape_str(w) + " expects " + std::to_string(w[1]));
    }
    if (opt.stride == 0) throw ShapeError(op, "stride must be >= 1");
    // A padding near SIZE_MAX / 2 would wrap the padded extents around; the padded input and the
    // output are then sizes to check (see Note [Checked element counts] in core/src/tensor.cpp).
    if (opt.padding > (std::numeric_limits<std::size_t>::max() - std::max(x[2], x[3])) / 2) {
        throw ShapeError(op, "padding " + std::to_string(opt.padding) + " is too large for input " + shape_str(x));
    }
    const std::size_t hp = x[2] + 2 * opt.padding, wp = x[3] + 2 * opt.padding;
    if (w[2] == 0 || w[3] == 0 || hp < w[2] || wp < w[3]) {
        throw ShapeError(op, "kernel " + shape_str(w) + " does not fit input " + shape_str(x) + " with padding " +
                                 std::to_string(opt.padding));
    }
    const Conv2dGeometry g{x[0], x[1], x[2], x[3], w[0], w[2], w[3], (hp - w[2]) / opt.stride + 1,
                           (wp - w[3]) / opt.stride + 1, opt.stride, opt.padding};
    numel({g.n, g.c, hp, wp}, op);
    numel(g.output(), op);
    return g;
}

void check_conv2d_output_shape(const Conv2dGeometry& g, const Shape& g_shape, const char* op) {
    if (g_shape != g.output()) {
        throw ShapeError(op, "g has shape " + shape_str(g_shape) + " but the convolution of " + shape_str(g.input()) +
                                 " with " + shape_str(g.weight()) + " gives " + shape_str(g.output()));
    }
}

namespace {

// The kernels index raw buffers by the geometry, so a tensor of another shape would be read
// out of bounds; the autodiff ops never pass one, direct callers might.
void check_operand(const Shape& actual, const Shape& expected, const char* what, const char* op) {
    if (actual != expected) {
        throw ShapeError(op, std::string(what) + " has shape " + shape_str(actual) + " but the geometry needs " +
                                 shape_str(expected));
    }
}

}  // namespace

template <class T>
Tensor<T> conv2d_forward(const Conv2dGeometry& g, const Tensor<T>& x, const Tensor<T>& w, const T* bias) {
    check_operand(x.shape(), g.input(), "input", "conv2d_forward");
    check_operand(w.shape(), g.weight(), "weight", "conv2d_forward");
    Tensor<T> y = Tensor<T>::from_shape(g.output());
    if (g.empty()) {
        for (std::size_t i = 0; i < y.size(); ++i) y.data()[i] = bias ? bias[i / g.pixels() % g.o] : T(0);
    } else if (same_width(g)) {
        conv2d_detail::same_width_forward(x.data(), w.data(), bias, g, y.data());
    } else {
        conv2d_detail::implicit_forward(x.data(), w.data(), bias, g, y.data());
    }
    return y;
}

// dx = col2im(wᵀ g), chunk by chunk (same-width path); otherwise by phases.
template <class T>
Tensor<T> conv2d_input_grad(const Conv2dGeometry& g, const Tensor<T>& gy, const Tensor<T>& w) {
    check_conv2d_output_shape(g, gy.shape(), "conv2d_input_grad");
    check_operand(w.shape(), g.weight(), "weight", "conv2d_input_grad");
    if (!g.empty() && !same_width(g)) {
        Tensor<T> dx = Tensor<T>::from_shape(g.input());  // every entry written
        conv2d_detail::phase_input_grad(gy.data(), w.data(), g, dx.data());
        return dx;
    }
    Tensor<T> dx = xt::zeros<T>(g.input());
    if (!g.empty()) conv2d_detail::same_width_input_grad(gy.data(), w.data(), g, dx.data());
    return dx;
}

// dw = Σ_chunks g colsᵀ (same-width path); otherwise over the implicit columns.
template <class T>
Tensor<T> conv2d_weight_grad(const Conv2dGeometry& g, const Tensor<T>& x, const Tensor<T>& gy) {
    check_operand(x.shape(), g.input(), "input", "conv2d_weight_grad");
    check_conv2d_output_shape(g, gy.shape(), "conv2d_weight_grad");
    Tensor<T> dw = xt::zeros<T>(g.weight());
    if (g.empty()) return dw;
    if (same_width(g)) {
        conv2d_detail::same_width_weight_grad(x.data(), gy.data(), g, dw.data());
    } else {
        conv2d_detail::implicit_weight_grad(x.data(), gy.data(), g, dw.data());
    }
    return dw;
}

template Tensor<float> conv2d_forward(const Conv2dGeometry&, const Tensor<float>&, const Tensor<float>&, const float*);
template Tensor<double> conv2d_forward(const Conv2dGeometry&, const Tensor<double>&, const Tensor<double>&,
                                       const double*);
template Tensor<float> conv2d_input_grad(const Conv2dGeometry&, const Tensor<float>&, const Tensor<float>&);
template Tensor<double> conv2d_input_grad(const Conv2dGeometry&, const Tensor<double>&, const Tensor<double>&);
template Tensor<float> conv2d_weight_grad(const Conv2dGeometry&, const Tensor<float>&, const Tensor<float>&);
template Tensor<double> conv2d_weight_grad(const Conv2dGeometry&, const Tensor<double>&, const Tensor<double>&);

}  // namespace odenet
