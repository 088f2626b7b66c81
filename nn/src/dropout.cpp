#include "odenet/nn/dropout.hpp"

#include "odenet/autodiff/ops.hpp"
#include "odenet/core/error.hpp"
#include "odenet/core/random.hpp"

namespace odenet::nn {

Dropout::Dropout(double p) : p_(p) {
    if (!(p >= 0.0 && p <= 1.0)) throw ValueError("Dropout", "p must be in [0, 1], got " + std::to_string(p));
}

namespace {
template <class T>
Tensor<T> keep_mask(const Shape& shape, double p) {
    Tensor<T> mask = uniform<T>(shape);
    const T scale = static_cast<T>(1.0 / (1.0 - p));
    for (T& m : mask) m = m >= static_cast<T>(p) ? scale : T(0);
    return mask;
}
}  // namespace

Var Dropout::forward(const Var& x) {
    if (!is_training() || p_ == 0.0) return x;
    if (p_ == 1.0) return x * 0.0;
    Var mask = x.dtype() == Dtype::float32 ? Var(keep_mask<float>(x.shape(), p_)) : Var(keep_mask<double>(x.shape(), p_));
    return x * mask;
}

}  // namespace odenet::nn
