#pragma once
// The tensor vocabulary: a dense row-major array over xtensor for float and double, its shape
// type and its dtype tag. Everything in odenet that is not autodiff speaks in these types.
#include <cstddef>
#include <string>
#include <string_view>

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

/// Number of elements of a shape: 1 for the scalar shape (), 0 when an extent is 0. Throws
/// ShapeError naming `where` and the shape when a product of its extents taken from the last
/// axis (as xtensor computes strides, in std::ptrdiff_t) reaches 2^63, PyTorch's limit too.
/// See Note [Checked element counts].
std::size_t numel(const Shape& shape, std::string_view where = "numel");

/// An uninitialised tensor of `shape`, its element count and byte size checked first: throws
/// ShapeError naming `where` and the shape when numel throws or the bytes pass 2^64 (xtensor's
/// from_shape would wrap around and allocate a short buffer). std::bad_alloc when the memory is
/// not there. Every tensor whose shape comes from a caller is made by this.
template <class T>
Tensor<T> empty_tensor(const Shape& shape, std::string_view where);

extern template Tensor<float> empty_tensor(const Shape&, std::string_view);
extern template Tensor<double> empty_tensor(const Shape&, std::string_view);

}  // namespace odenet
