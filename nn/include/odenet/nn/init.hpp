#pragma once
// Parameter initialisation, as torch.nn.init, drawing from the default generator (so
// manual_seed makes a model's initial weights reproducible). All fill a leaf in place, in its dtype.
#include <cstddef>

#include "odenet/autodiff/var.hpp"

namespace odenet::nn::init {

/// fan_in of a weight (out, in, k...): in * prod(k...). ValueError for rank < 2.
std::size_t fan_in(const Shape& weight_shape);
/// U(lo, hi) entries.
void uniform_(Var& v, double lo, double hi);
void constant_(Var& v, double value);
inline void zeros_(Var& v) { constant_(v, 0.0); }
inline void ones_(Var& v) { constant_(v, 1.0); }
/// He et al. (2015) uniform for leaky ReLU slope `a`: bound = sqrt(6 / ((1 + a^2) fan_in)).
/// PyTorch's Linear and Conv use a = sqrt(5), which gives bound = 1 / sqrt(fan_in).
void kaiming_uniform_(Var& v, double a);
/// PyTorch's default for Linear/Conv: weight kaiming_uniform_(a = sqrt(5)), bias
/// U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (bias may be undefined). Weight is drawn first.
void default_linear_init(Var& weight, Var* bias);

}  // namespace odenet::nn::init
