#pragma once
// The tensor vocabulary: a dense row-major array over xtensor for float and double, its shape
// type and its dtype tag. Everything in odenet that is not autodiff speaks in these types.
#include <cstddef>
#include <string>

#include <xtensor/xarray.hpp>

#include "odenet/core/buffer_allocator.hpp"

namespace odenet {

/// A dense, row-major, owning n-dimensional array (xtensor's xarray). T is float or double.
/// Its buffer comes from BufferAllocator (see Note [Buffer cache] in buffer_allocator.cpp).
template <class T>
using Tensor = xt::xarray<T, xt::layout_type::row_major, BufferAllocator<T>>;

#ifdef XTENSOR_USE_XSIMD
static_assert(XSIMD_DEFAULT_ALIGNMENT <= kBufferAlignment, "xtensor's aligned SIMD loads need this alignment");
#endif

/// A tensor shape: a small vector of extents, stored inline up to rank 4.
using Shape = typename Tensor<double>::shape_type;
static_assert(std::is_same_v<Shape, typename Tensor<float>::shape_type>);

enum class Dtype { float32, float64 };

template <class T>
constexpr Dtype dtype_of() {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "odenet tensors hold float or double");
    return std::is_same_v<T, float> ? Dtype::float32 : Dtype::float64;
}

/// "float32" or "float64".
const char* dtype_name(Dtype dtype);

/// "(3, 1, 4)"; "()" for a scalar.
std::string shape_str(const Shape& shape);

/// Number of elements of a shape (1 for the scalar shape ()).
std::size_t numel(const Shape& shape);

}  // namespace odenet
