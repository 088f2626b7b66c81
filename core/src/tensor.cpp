#include "odenet/core/tensor.hpp"

#include <algorithm>
#include <limits>

#include "odenet/core/error.hpp"

namespace odenet {

const char* dtype_name(Dtype dtype) { return dtype == Dtype::float32 ? "float32" : "float64"; }

std::string shape_str(const Shape& shape) {
    std::string s = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i > 0) s += ", ";
        s += std::to_string(shape[i]);
    }
    return s + ")";
}

// Note [Checked element counts]
// xtensor computes a container's strides and size as running products of its extents, from the
// last axis, in std::ptrdiff_t, and allocates that many elements. Nothing checks them: a shape
// such as (2^32, 2^32) overflows (undefined behaviour; in practice it wraps to 0 and gives a
// tensor whose shape promises 2^64 elements over an empty buffer), and (SIZE_MAX, 2) wraps to
// SIZE_MAX - 1 elements, whose byte count wraps again, so the fill that follows writes past a
// 64-byte block. So every shape that comes from outside (creation ops, reshape, broadcast_to,
// file headers) goes through numel() or empty_tensor() first, which refuse such a shape by
// name. The limit is xtensor's (and PyTorch's int64 numel): every running product from the last
// axis must stay below 2^63. A 0 extent makes the products before it 0, so (2^40, 2^40, 0) is a
// valid empty shape, but (0, 2^40, 2^40) is not: its strides overflow on the way to the 0.
// Shapes derived from existing tensors (a reduction's result, a slice) are no larger than their
// source and need no check.
std::size_t numel(const Shape& shape, std::string_view where) {
    constexpr auto kLimit = static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max());
    std::size_t n = 1;
    for (std::size_t i = shape.size(); i-- > 0;) {
        if (shape[i] == 0) return 0;
        if (__builtin_mul_overflow(n, shape[i], &n) || n > kLimit) {
            const bool empty = std::find(shape.begin(), shape.end(), std::size_t{0}) != shape.end();
            throw ShapeError(std::string(where), "shape " + shape_str(shape) +
                                                     (empty ? " has 0 elements but trailing extents whose product is 2^63 "
                                                              "or more (its strides would overflow)"
                                                            : " has 2^63 or more elements"));
        }
    }
    return n;
}

template <class T>
Tensor<T> empty_tensor(const Shape& shape, std::string_view where) {
    const std::size_t n = numel(shape, where);
    if (n > std::numeric_limits<std::size_t>::max() / sizeof(T)) {
        throw ShapeError(std::string(where), "shape " + shape_str(shape) + " of " + dtype_name(dtype_of<T>()) +
                                                 " needs 2^64 or more bytes");
    }
    return Tensor<T>::from_shape(shape);
}

template Tensor<float> empty_tensor(const Shape&, std::string_view);
template Tensor<double> empty_tensor(const Shape&, std::string_view);

}  // namespace odenet
