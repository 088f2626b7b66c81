#pragma once
// Helpers for writing ops: run a generic lambda on the tensor of the right dtype, check that two
// operands agree on dtype, and normalise axes. Private to autodiff/src.
#include <string>

#include "odenet/autodiff/var.hpp"
#include "odenet/core/error.hpp"

namespace odenet::ops {

/// f(const Tensor<T>&) -> Tensor<T>, evaluated into a Value of the same dtype.
template <class F>
Value map_value(const Var& x, F&& f) {
    return x.value().visit([&](const auto& t) -> Value {
        using T = typename std::decay_t<decltype(t)>::value_type;
        Tensor<T> out = f(t);
        return Value(std::move(out));
    });
}

inline void check_same_dtype(const Var& a, const Var& b, const char* op) {
    if (a.dtype() != b.dtype()) {
        throw DtypeError(op, std::string("operands are ") + dtype_name(a.dtype()) + " and " + dtype_name(b.dtype()) +
                                 "; convert one with to_dtype");
    }
}

/// f(const Tensor<T>& a, const Tensor<T>& b) -> Tensor<T>, after checking dtypes agree.
template <class F>
Value map_values(const Var& a, const Var& b, const char* op, F&& f) {
    check_same_dtype(a, b, op);
    return a.value().visit([&](const auto& ta) -> Value {
        using T = typename std::decay_t<decltype(ta)>::value_type;
        Tensor<T> out = f(ta, b.value().as<T>());
        return Value(std::move(out));
    });
}

/// A constant (not differentiated) Var of x's dtype built from f(const Tensor<T>&) -> Tensor<T>.
template <class F>
Var constant_like(const Var& x, F&& f) {
    return Var(map_value(x, std::forward<F>(f)));
}

/// Axis in [-rank, rank) to [0, rank); throws ShapeError naming the op.
std::size_t normalize_axis(int axis, std::size_t rank, const char* op);

/// A shape seen as (outer, n, inner) around one axis: the axis's extent and the products of the
/// extents before and after it (row-major element (o, k, i) is at (o n + k) inner + i).
struct AxisSplit {
    std::size_t outer = 1, n = 1, inner = 1;
};
inline AxisSplit split_at(const Shape& shape, std::size_t axis) {
    AxisSplit s;
    for (std::size_t i = 0; i < axis; ++i) s.outer *= shape[i];
    s.n = shape[axis];
    for (std::size_t i = axis + 1; i < shape.size(); ++i) s.inner *= shape[i];
    return s;
}

}  // namespace odenet::ops
