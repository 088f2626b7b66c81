#include "odenet/core/tensor.hpp"

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

std::size_t numel(const Shape& shape) {
    std::size_t n = 1;
    for (std::size_t extent : shape) n *= extent;
    return n;
}

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
