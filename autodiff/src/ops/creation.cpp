// Constructors of leaves and the differentiable dtype conversion.
#include <xtensor/xbuilder.hpp>

#include "dispatch.hpp"
#include "odenet/autodiff/ops.hpp"
#include "odenet/autodiff/record.hpp"
#include "odenet/core/random.hpp"

namespace odenet {

namespace ops {
std::size_t normalize_axis(int axis, std::size_t rank, const char* op) {
    const long r = static_cast<long>(rank);
    if (axis < -r || axis >= r) {
        throw ShapeError(op, "axis " + std::to_string(axis) + " is out of range for a tensor of rank " + std::to_string(rank));
    }
    return static_cast<std::size_t>(axis < 0 ? axis + r : axis);
}
}  // namespace ops

namespace {
template <class T>
Tensor<T> filled(const Shape& shape, double value) {
    Tensor<T> t = Tensor<T>::from_shape(shape);
    t.fill(static_cast<T>(value));
    return t;
}
}  // namespace

Var full(const Shape& shape, double value, Dtype dtype, bool requires_grad) {
    if (dtype == Dtype::float32) return Var(filled<float>(shape, value), requires_grad);
    return Var(filled<double>(shape, value), requires_grad);
}
Var zeros(const Shape& shape, Dtype dtype, bool requires_grad) { return full(shape, 0.0, dtype, requires_grad); }
Var ones(const Shape& shape, Dtype dtype, bool requires_grad) { return full(shape, 1.0, dtype, requires_grad); }
Var full_like(const Var& x, double value) { return full(x.shape(), value, x.dtype()); }
Var zeros_like(const Var& x) { return full_like(x, 0.0); }
Var ones_like(const Var& x) { return full_like(x, 1.0); }

Var randn(const Shape& shape, Dtype dtype) {
    if (dtype == Dtype::float32) return Var(odenet::randn<float>(shape));
    return Var(odenet::randn<double>(shape));
}
Var randn_like(const Var& x) { return randn(x.shape(), x.dtype()); }
Var rademacher_like(const Var& x) {
    if (x.dtype() == Dtype::float32) return Var(odenet::rademacher<float>(x.shape()));
    return Var(odenet::rademacher<double>(x.shape()));
}

Var to_dtype(const Var& x, Dtype dtype) {
    if (x.dtype() == dtype) return x;
    Value out = x.value().visit([&](const auto& t) -> Value {
        if (dtype == Dtype::float32) return Value(Tensor<float>(xt::cast<float>(t)));
        return Value(Tensor<double>(xt::cast<double>(t)));
    });
    const Dtype from = x.dtype();
    return record("to_dtype", std::move(out), {&x},
                  [from](const Var& gy, const BackwardContext&) -> Grads { return {to_dtype(gy, from)}; });
}

}  // namespace odenet
