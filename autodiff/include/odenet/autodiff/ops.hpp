#pragma once
// The differentiable ops. Each is implemented in autodiff/src/ops/<family>.cpp with its
// backward formula next to its forward; every one is listed in tests/autodiff/op_registry.cpp
// and checked there by gradcheck and gradgradcheck in float64.
//
// Conventions: binary elementwise ops broadcast as NumPy; both operands must have the same
// dtype (DtypeError otherwise; convert with to_dtype). Axes may be negative (counted from the
// end). Shape problems throw ShapeError naming the op and the shapes.
#include <cstddef>
#include <vector>

#include "odenet/autodiff/var.hpp"
#include "odenet/core/conv2d.hpp"
#include "odenet/core/random.hpp"

namespace odenet {

// ---- creation (ops/creation.cpp; not differentiable: results are leaves) --------------------
// Every creation op throws ShapeError naming it ("zeros: shape (18446744073709551615, 2) has
// 2^63 or more elements") when the shape's element count reaches 2^63 or its bytes 2^64.
Var zeros(const Shape& shape, Dtype dtype = Dtype::float64, bool requires_grad = false);
Var ones(const Shape& shape, Dtype dtype = Dtype::float64, bool requires_grad = false);
Var full(const Shape& shape, double value, Dtype dtype = Dtype::float64, bool requires_grad = false);
Var zeros_like(const Var& x);
Var ones_like(const Var& x);
Var full_like(const Var& x, double value);
/// Standard normal / Rademacher entries from the default generator (see core/random.hpp).
Var randn(const Shape& shape, Dtype dtype = Dtype::float64);
Var randn_like(const Var& x);
Var rademacher_like(const Var& x);
/// Differentiable dtype conversion (the gradient is converted back).
Var to_dtype(const Var& x, Dtype dtype);
/// n evenly spaced values from start to stop inclusive, shape (n), as torch.linspace; both
/// ends are exact. n == 1 gives [start]. ValueError for n == 0 (torch returns an empty tensor)
/// or a non-finite start or stop.
Var linspace(double start, double stop, std::size_t n, Dtype dtype = Dtype::float64);
/// start, start + step, ... up to but excluding stop: ceil((stop - start) / step) values, as
/// torch.arange. ValueError for a step that is zero or not finite, a non-finite start or stop,
/// or a step whose sign points away from stop (stop == start gives an empty tensor).
Var arange(double start, double stop, double step = 1.0, Dtype dtype = Dtype::float64);
/// arange(0, stop): 0, 1, ..., ceil(stop) - 1, as torch.arange(end).
Var arange(double stop, Dtype dtype = Dtype::float64);
/// A uniformly random permutation of 0 .. n-1 (Fisher-Yates on `gen`), as torch.randperm.
std::vector<std::size_t> randperm(std::size_t n, Generator& gen = default_generator());
/// k indices drawn uniformly from 0 .. n-1: distinct when !replace (the first k steps of
/// randperm's shuffle, so choice(n, n, false) == randperm(n) for the same generator state),
/// independent draws when replace. ValueError for k > n without replacement, or n == 0 < k.
std::vector<std::size_t> choice(std::size_t n, std::size_t k, bool replace, Generator& gen = default_generator());

// ---- unary elementwise (ops/unary.cpp) ------------------------------------------------------
Var neg(const Var& x);
Var exp(const Var& x);
Var log(const Var& x);
Var sqrt(const Var& x);
Var square(const Var& x);
/// d|x|/dx = sign(x), taken as 0 at x = 0.
Var abs(const Var& x);
Var tanh(const Var& x);
/// g (1 - y^2): tanh's backward given its output y, fused into one pass (differentiable).
Var tanh_backward(const Var& grad, const Var& y);
Var sigmoid(const Var& x);
/// d relu/dx = 1 for x > 0 and 0 for x <= 0 (0 at x = 0, as PyTorch).
Var relu(const Var& x);
/// log(1 + e^x), computed stably as max(x, 0) + log1p(e^-|x|).
Var softplus(const Var& x);
Var elu(const Var& x, double alpha = 1.0);
Var sin(const Var& x);
Var cos(const Var& x);
/// x^p for a constant exponent.
Var pow(const Var& x, double p);

// ---- scalar operands (ops/unary.cpp): the scalar takes the Var's dtype -----------------------
Var add(const Var& x, double s);
Var mul(const Var& x, double s);
/// s - x
Var rsub(double s, const Var& x);
/// s / x
Var rdiv(double s, const Var& x);

// ---- binary elementwise with broadcasting (ops/binary.cpp) ---------------------------------
Var add(const Var& a, const Var& b);
Var sub(const Var& a, const Var& b);
Var mul(const Var& a, const Var& b);
Var div(const Var& a, const Var& b);
/// a^b elementwise (a > 0 where b is differentiated: d/db a^b = a^b log a).
Var pow(const Var& a, const Var& b);
/// cond ? a : b elementwise; cond is a 0/1 mask (nonzero = true), not differentiated.
Var where(const Var& cond, const Var& a, const Var& b);

Var operator+(const Var& a, const Var& b);
Var operator-(const Var& a, const Var& b);
Var operator*(const Var& a, const Var& b);
Var operator/(const Var& a, const Var& b);
Var operator-(const Var& x);
Var operator+(const Var& x, double s);
Var operator+(double s, const Var& x);
Var operator-(const Var& x, double s);
Var operator-(double s, const Var& x);
Var operator*(const Var& x, double s);
Var operator*(double s, const Var& x);
Var operator/(const Var& x, double s);
Var operator/(double s, const Var& x);

/// Σ coeffs[i] * xs[i] for same-shape operands, one pass and one graph node (ops/lincomb.cpp).
Var linear_combination(const std::vector<Var>& xs, const std::vector<double>& coeffs);

// ---- reductions (ops/reduce.cpp) -------------------------------------------------------------
/// Sum of all elements, shape ().
Var sum(const Var& x);
Var sum(const Var& x, const std::vector<int>& axes, bool keepdims = false);
/// Mean of all elements, shape (). The mean over axes: ValueError naming "mean", the axes and
/// the shape when a result entry would average 0 elements (an empty tensor, an empty batch):
/// PyTorch returns NaN there, we refuse, so an empty batch cannot pass silently. A result with
/// no entries (the mean over axis 1 of a (0, 0) tensor) is empty, not an error.
Var mean(const Var& x);
Var mean(const Var& x, const std::vector<int>& axes, bool keepdims = false);
/// Maximum over one axis. The gradient goes to the first maximal entry.
Var max(const Var& x, int axis, bool keepdims = false);
/// log Σ exp(x) over one axis, stable (shifted by the maximum).
Var logsumexp(const Var& x, int axis, bool keepdims = false);
/// x - logsumexp(x, axis, keepdims = true).
Var log_softmax(const Var& x, int axis);
/// Sums the broadcast axes away so the result has `shape` (the adjoint of broadcast_to).
Var sum_to(const Var& x, const Shape& shape);
/// Broadcasts x to `shape` (materialised; the gradient is sum_to).
Var broadcast_to(const Var& x, const Shape& shape);

// ---- linear algebra (ops/matmul.cpp), through odenet::gemm -------------------------------------
/// Matrix product. 2-D: (m, k) @ (k, n). Higher rank: batched over the leading axes, which
/// broadcast. A 1-D operand is treated as a row (left) or column (right) vector and that axis
/// is removed from the result, as numpy.matmul.
Var matmul(const Var& a, const Var& b);
/// op(a) @ op(b) with op = transpose of the last two axes where asked, without copying.
Var gemm(const Var& a, const Var& b, bool transpose_a, bool transpose_b);

// ---- shape (ops/shape.cpp; concat, stack, slice, index_select, gather in ops/index.cpp) ----------
Var reshape(const Var& x, const Shape& shape);
/// Collapses axes [start_axis, end) into one: (N, C, H, W) -> (N, C*H*W) for start_axis = 1.
Var flatten(const Var& x, int start_axis = 1);
Var permute(const Var& x, const std::vector<std::size_t>& axes);
/// Swaps two axes (default: the last two).
Var transpose(const Var& x, int axis0 = -2, int axis1 = -1);
/// Joins xs along an existing axis; every other extent and the dtype must agree. Throws
/// ShapeError naming the first mismatching pair of shapes (or for an empty list).
Var concat(const std::vector<Var>& xs, int axis);
/// Joins xs of one shape along a new axis (axis in [-(rank+1), rank]).
Var stack(const std::vector<Var>& xs, int axis = 0);
/// Elements start, start+step, ... < stop along one axis. Needs start <= stop <= extent and
/// step >= 1 (ShapeError otherwise, naming the range and the shape).
Var slice(const Var& x, int axis, std::size_t start, std::size_t stop, std::size_t step = 1);
/// The entries at `indices` along one axis (repeats allowed; their gradients add). An index
/// beyond the axis throws ShapeError naming the index and the shape.
Var index_select(const Var& x, int axis, const std::vector<std::size_t>& indices);
/// The adjoint of index_select (and slice): zeros of extent `size` along `axis`, with g's
/// entry k added at position indices[k] (repeats add). g's extent on the axis is indices.size().
Var index_add(const Var& g, int axis, const std::vector<std::size_t>& indices, std::size_t size);

/// Positions for gather and scatter_add: a row-major array of std::size_t, the index type of
/// index_select and nll_loss (so a negative index cannot be written). Build one as
/// IndexTensor{{0, 2}, {1, 1}}.
using IndexTensor = xt::xarray<std::size_t, xt::layout_type::row_major>;
/// out[i][j][k] = x[index[i][j][k]][j][k] for axis 0 (likewise for the other axes), as
/// torch.gather and numpy.take_along_axis; the output has index's shape. index must have x's
/// rank and, unlike torch (which allows smaller), x's extents on every axis but `axis`
/// (ShapeError naming both shapes otherwise). An entry >= x's extent on `axis` throws
/// ShapeError naming the entry, its position, the axis and x's shape. Differentiable in x
/// (the gradient is scatter_add into zeros; repeated indices add).
Var gather(const Var& x, int axis, const IndexTensor& index);
/// A copy of x with src[i][j][k] added at [index[i][j][k]][j][k] for axis 0 (likewise for the
/// other axes; repeats add), as torch.Tensor.scatter_add. src has index's shape and x's dtype;
/// index follows gather's rules (same rank as x, x's extents off `axis`, entries in range).
/// Differentiable in x (gradient g) and src (gradient gather(g, axis, index)).
Var scatter_add(const Var& x, int axis, const IndexTensor& index, const Var& src);

// ---- convolution, normalisation, pooling (ops/conv.cpp, ops/norm.cpp, ops/pool.cpp) ------------
// Conv2dOptions {stride, padding} and the plain-tensor kernels are in core/conv2d.hpp.
/// x (N, C, H, W), weight (O, C, kh, kw), bias (O) or undefined -> (N, O, H', W') with
/// H' = (H + 2 padding - kh) / stride + 1 (likewise W'). Cross-correlation, as PyTorch.
/// Throws ShapeError naming both shapes when the channels differ or the kernel does not fit.
Var conv2d(const Var& x, const Var& weight, const Var& bias, Conv2dOptions options = {});
/// conv2d's gradient with respect to its input (a transposed convolution): g (N, O, H', W'),
/// weight (O, C, kh, kw) -> (N, C, H, W) = input_shape. Differentiable in g and weight.
Var conv2d_input_grad(const Var& g, const Var& weight, const Shape& input_shape, Conv2dOptions options = {});
/// conv2d's gradient with respect to its weight: x (N, C, H, W), g (N, O, H', W')
/// -> (O, C, kh, kw) = weight_shape. Differentiable in x and g.
Var conv2d_weight_grad(const Var& x, const Var& g, const Shape& weight_shape, Conv2dOptions options = {});
/// Normalises x (N, C, ...) over groups of C/groups channels and the spatial axes, then
/// scales and shifts per channel; weight and bias (C) may be undefined.
Var group_norm(const Var& x, std::size_t groups, const Var& weight, const Var& bias, double eps = 1e-5);
/// Average pooling over kernel x kernel windows of x (N, C, H, W), no padding:
/// -> (N, C, (H - kernel) / stride + 1, (W - kernel) / stride + 1).
Var avg_pool2d(const Var& x, std::size_t kernel, std::size_t stride);
/// avg_pool2d's adjoint: each entry of g (N, C, H', W') spread evenly over its window of an
/// (N, C, H, W) = input_shape result, overlapping windows adding.
Var avg_pool2d_backward(const Var& g, std::size_t kernel, std::size_t stride, const Shape& input_shape);

// ---- densities (ops/loss.cpp); the losses (mse, nll, cross-entropy, l1) are nn::functional's ----
/// log N(z; 0, I) summed over every axis but the first: shape (N,) for z (N, ...).
Var gaussian_log_density(const Var& z);

}  // namespace odenet
