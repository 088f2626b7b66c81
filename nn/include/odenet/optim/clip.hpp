#pragma once
// Gradient-norm clipping (Pascanu et al., 2013), as torch.nn.utils.clip_grad_norm_.
#include <vector>

#include "odenet/autodiff/var.hpp"

namespace odenet::optim {

/// Scales every defined gradient by max_norm / (total + 1e-6) when the total norm over all of
/// them exceeds max_norm. norm_type is 2 (Euclidean over all entries) or INFINITY (largest |g|).
/// Returns the total norm before clipping. ValueError for another norm_type or max_norm < 0.
double clip_grad_norm(const std::vector<Var>& params, double max_norm, double norm_type = 2.0);

}  // namespace odenet::optim
