#pragma once
// Parameter initialisation, as torch.nn.init, drawing from the default generator (so
// manual_seed makes a model's initial weights reproducible). All fill a leaf in place, in its dtype.
// The fans of a weight (out, in, k...) are fan_in = in * prod(k...), fan_out = out * prod(k...).
#include <cstddef>

#include "odenet/autodiff/var.hpp"

namespace odenet::nn::init {

/// fan_in of a weight (out, in, k...): in * prod(k...). ValueError for rank < 2.
std::size_t fan_in(const Shape& weight_shape);
/// fan_out of a weight (out, in, k...): out * prod(k...). ValueError for rank < 2.
std::size_t fan_out(const Shape& weight_shape);
/// U(lo, hi) entries.
void uniform_(Var& v, double lo, double hi);
/// N(mean, std²) entries. ValueError for std negative, infinite or NaN.
void normal_(Var& v, double mean = 0.0, double std = 1.0);
void constant_(Var& v, double value);
inline void zeros_(Var& v) { constant_(v, 0.0); }
inline void ones_(Var& v) { constant_(v, 1.0); }
/// Glorot & Bengio (2010, AISTATS, eq. 16): U(-b, b), b = gain sqrt(6 / (fan_in + fan_out)).
/// ValueError for rank < 2, naming the shape.
void xavier_uniform_(Var& v, double gain = 1.0);
/// Glorot & Bengio (2010): N(0, std²), std = gain sqrt(2 / (fan_in + fan_out)). ValueError for
/// rank < 2, naming the shape.
void xavier_normal_(Var& v, double gain = 1.0);
/// He et al. (2015) uniform for leaky ReLU slope `a`: bound = sqrt(6 / ((1 + a^2) fan_in)).
/// PyTorch's Linear and Conv use a = sqrt(5), which gives bound = 1 / sqrt(fan_in).
void kaiming_uniform_(Var& v, double a);
/// He et al. (2015, ICCV, eq. 10 with the leaky-ReLU gain): N(0, std²),
/// std = sqrt(2 / ((1 + a^2) fan_in)), as PyTorch's default mode "fan_in". ValueError for rank < 2.
void kaiming_normal_(Var& v, double a = 0.0);
/// Saxe, McClelland & Ganguli (2014, ICLR): a (semi-)orthogonal matrix times `gain`, as PyTorch.
/// v (r, c...) is viewed as a matrix r x n, n = numel / r. Draws r n standard normals from the
/// default generator (row-major, as randn({r, n})), takes the thin QR of that matrix (of its
/// transpose when r < n) and keeps Q with its columns multiplied by sign(diag R), which makes Q
/// Haar-distributed (Mezzadri, 2007, Notices AMS 54:592-604). So QᵀQ = gain² I for r >= n and
/// QQᵀ = gain² I for r < n. ValueError for rank < 2, naming the shape; an empty v is left as is.
void orthogonal_(Var& v, double gain = 1.0);
/// PyTorch's default for Linear/Conv: weight kaiming_uniform_(a = sqrt(5)), bias
/// U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (bias may be undefined). Weight is drawn first.
void default_linear_init(Var& weight, Var* bias);

}  // namespace odenet::nn::init
