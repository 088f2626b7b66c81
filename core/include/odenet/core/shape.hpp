#pragma once
// Broadcasting rules (NumPy's: align trailing axes; an extent of 1 stretches) and their inverse,
// sum_to, which folds a gradient of the broadcast shape back onto an input's shape.
#include <string_view>

#include "odenet/core/tensor.hpp"

namespace odenet {

/// The shape two operands broadcast to. Throws ShapeError naming `where` and both shapes, or the
/// result when its element count does not fit in std::size_t.
Shape broadcast_shape(const Shape& a, const Shape& b, std::string_view where = "broadcast");

/// True when `from` broadcasts to `to` without changing `to`.
bool broadcastable_to(const Shape& from, const Shape& to);

/// Sums `g` over the axes that broadcasting added or stretched, so the result has `shape`.
/// This is the gradient of broadcast_to(x, g.shape()) with respect to x.
/// Throws ShapeError when `shape` does not broadcast to g's shape or its size overflows.
template <class T>
Tensor<T> sum_to(const Tensor<T>& g, const Shape& shape);

/// Throws ValueError naming `where`, the flat index and the value of the first NaN or Inf.
template <class T>
void check_finite(const Tensor<T>& x, std::string_view where);

extern template Tensor<float> sum_to(const Tensor<float>&, const Shape&);
extern template Tensor<double> sum_to(const Tensor<double>&, const Shape&);
extern template void check_finite(const Tensor<float>&, std::string_view);
extern template void check_finite(const Tensor<double>&, std::string_view);

}  // namespace odenet
