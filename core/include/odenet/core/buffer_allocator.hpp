#pragma once
// The allocator of every tensor's element buffer: 64-byte aligned blocks, small ones recycled
// through a per-thread cache instead of the C library. See Note [Buffer cache] in
// core/src/buffer_allocator.cpp.
#include <cstddef>
#include <limits>
#include <new>

#include <xsimd/memory/xsimd_alignment.hpp>

namespace odenet {

/// Alignment of tensor buffers: a cache line, and enough for any SIMD width xsimd targets.
inline constexpr std::size_t kBufferAlignment = 64;

namespace detail {
/// A kBufferAlignment-aligned block of at least `bytes` bytes; throws std::bad_alloc.
void* buffer_allocate(std::size_t bytes);
/// Returns a block from buffer_allocate; `bytes` must be the size it was asked for. Any thread.
void buffer_deallocate(void* block, std::size_t bytes) noexcept;
}  // namespace detail

/// A stateless standard allocator over buffer_allocate (all instances are interchangeable).
template <class T>
class BufferAllocator {
public:
    using value_type = T;

    BufferAllocator() noexcept = default;
    template <class U>
    BufferAllocator(const BufferAllocator<U>&) noexcept {}

    /// Throws std::bad_array_new_length when n * sizeof(T) does not fit in std::size_t (as
    /// std::allocator does), std::bad_alloc when the memory is not there.
    T* allocate(std::size_t n) {
        if (n > std::numeric_limits<std::size_t>::max() / sizeof(T)) throw std::bad_array_new_length();
        return static_cast<T*>(detail::buffer_allocate(n * sizeof(T)));
    }
    void deallocate(T* p, std::size_t n) noexcept { detail::buffer_deallocate(p, n * sizeof(T)); }

    template <class U>
    bool operator==(const BufferAllocator<U>&) const noexcept {
        return true;
    }
};

}  // namespace odenet

// xtensor asks xsimd whether a container's allocator aligns its buffers, and uses aligned SIMD
// loads and stores if so (as it did with xsimd's own aligned_allocator).
template <class T>
struct xsimd::allocator_alignment<odenet::BufferAllocator<T>> {
    using type = xsimd::aligned_mode;
};
