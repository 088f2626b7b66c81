#include "odenet/core/tensor.hpp"

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
// xtensor computes a container's size as the plain product of its extents, in std::size_t, and
// allocates that many elements. A shape such as (2^32, 2^32) wraps around to 0 and gives a
// tensor whose shape promises 2^64 elements over an empty buffer; (SIZE_MAX, 2) wraps to
// SIZE_MAX - 1, whose byte count wraps again, and the fill that follows writes past a 64-byte
// block. So every shape that comes from outside (creation ops, reshape, broadcast_to, file
// headers) goes through numel() or empty_tensor() first, which refuse such a shape by name.
// Shapes derived from existing tensors (a reduction's result, a slice) are no larger than
// their source and need no check. A 0 extent makes the count 0 whatever the other extents are,
// as PyTorch's safe_multiplies_u64 does; such a tensor is never indexed.
std::size_t numel(const Shape& shape, std::string_view where) {
    std::size_t n = 1;
    bool overflow = false;
    for (std::size_t extent : shape) {
        if (extent == 0) return 0;
        overflow = overflow || __builtin_mul_overflow(n, extent, &n);
    }
    if (overflow) throw ShapeError(std::string(where), "shape " + shape_str(shape) + " has 2^64 or more elements");
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
// Note [Heap trimming]
// A training step allocates and frees the same tensor sizes over and over. glibc returns the
// top of the heap to the kernel whenever more than 128 KiB is free there (and serves blocks over
// 128 KiB by mmap), so every step paid brk/munmap system calls, TLB flushes and fresh page faults:
// in a profile of a 2-64-64-64-2 MLP step that was half of the time. Raising both thresholds
// keeps freed memory in the process for reuse. This runs once, when the program starts.
#include <malloc.h>

namespace odenet {
namespace {
[[maybe_unused]] const bool heap_tuned = [] {
    mallopt(M_MMAP_THRESHOLD, 256 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
    return true;
}();
}  // namespace
}  // namespace odenet
