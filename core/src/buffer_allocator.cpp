// Note [Buffer cache]
// Recording one op on small tensors allocates several element buffers (the value, the seed of
// the backward, the gradients) and frees them a moment later. They must be 64-byte aligned for
// xsimd, and glibc serves aligned requests through memalign, which bypasses its per-thread
// cache (tcache) and splits and frees chunks on every call: a third of the time of a small op
// went to malloc and free. So blocks of up to kMaxCachedBytes are rounded up to a power of two
// (kNumClasses size classes from 64 bytes) and, when freed, pushed on a per-thread free list of
// their class (the link lives in the freed block itself); the next request of that class on this
// thread pops it. Larger blocks go straight to the C library, whose cost is small next to the
// arithmetic on them.
//
// - Any thread may free any block: a block freed on another thread joins that thread's lists
//   (all blocks come from the same aligned_alloc, so a list may hold blocks of several threads).
// - Each list holds at most kMaxBlocksPerClass blocks; beyond that blocks go back to the C
//   library, so a thread caches at most 32 * 128 KiB = 4 MiB however much it allocated.
// - At thread exit the lists are emptied, and later frees on that thread (destructors of
//   statics) go straight to the C library.
// - Under AddressSanitizer cached blocks are poisoned, so a use after free is still reported,
//   and so is the rounding of a block beyond the size asked for, so an overrun is too.
#include "odenet/core/buffer_allocator.hpp"

#include <bit>
#include <cstdint>
#include <cstdlib>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define ODENET_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define ODENET_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define ODENET_POISON(p, n) ((void)(p), (void)(n))
#define ODENET_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace odenet::detail {

namespace {

constexpr std::size_t kMinClassBytes = 64;  // class c holds blocks of 64 << c bytes
constexpr std::size_t kNumClasses = 11;     // 64 B .. 64 KiB
constexpr std::size_t kMaxCachedBytes = kMinClassBytes << (kNumClasses - 1);
constexpr int kMaxBlocksPerClass = 32;

struct FreeBlock {
    FreeBlock* next;
};

// Trivially destructible, so it is usable during the whole life of the thread (also after the
// drainer below has run); the drainer is constructed on the first free that keeps a block.
struct FreeLists {
    FreeBlock* head[kNumClasses];
    int count[kNumClasses];
    bool draining_registered;
    bool closed;  // the thread is exiting: no more caching
};
thread_local FreeLists lists{};

struct Drainer {
    ~Drainer() {
        lists.closed = true;
        for (std::size_t c = 0; c < kNumClasses; ++c) {
            while (FreeBlock* block = lists.head[c]) {
                ODENET_UNPOISON(block, kMinClassBytes << c);
                lists.head[c] = block->next;
                std::free(block);
            }
            lists.count[c] = 0;
        }
    }
};

// The class whose blocks hold `bytes` (bytes <= kMaxCachedBytes).
std::size_t size_class(std::size_t bytes) {
    if (bytes <= kMinClassBytes) return 0;
    // ceil(log2(bytes)) - log2(64)
    return static_cast<std::size_t>(std::bit_width(bytes - 1)) - 6;
}

void* system_allocate(std::size_t bytes) {
    // aligned_alloc wants a multiple of the alignment; rounding SIZE_MAX up would wrap to 0.
    if (bytes > SIZE_MAX - kBufferAlignment) throw std::bad_alloc();
    const std::size_t rounded = (bytes + kBufferAlignment - 1) / kBufferAlignment * kBufferAlignment;
    void* block = std::aligned_alloc(kBufferAlignment, rounded == 0 ? kBufferAlignment : rounded);
    if (!block) throw std::bad_alloc();
    return block;
}

}  // namespace

void* buffer_allocate(std::size_t bytes) {
    if (bytes > kMaxCachedBytes) return system_allocate(bytes);
    const std::size_t c = size_class(bytes);
    void* block = lists.head[c];
    if (block) {
        ODENET_UNPOISON(block, sizeof(FreeBlock));
        lists.head[c] = lists.head[c]->next;
        --lists.count[c];
    } else {
        block = system_allocate(kMinClassBytes << c);
    }
    ODENET_POISON(block, kMinClassBytes << c);  // only the bytes asked for are addressable
    ODENET_UNPOISON(block, bytes);
    return block;
}

void buffer_deallocate(void* block, std::size_t bytes) noexcept {
    if (!block) return;
    if (bytes > kMaxCachedBytes) {
        std::free(block);
        return;
    }
    const std::size_t c = size_class(bytes);
    if (lists.closed || lists.count[c] >= kMaxBlocksPerClass) {
        ODENET_UNPOISON(block, kMinClassBytes << c);
        std::free(block);
        return;
    }
    if (!lists.draining_registered) {
        thread_local Drainer drainer;  // registers its destructor for this thread's exit
        (void)drainer;
        lists.draining_registered = true;
    }
    ODENET_UNPOISON(block, sizeof(FreeBlock));
    auto* free_block = static_cast<FreeBlock*>(block);
    free_block->next = lists.head[c];
    lists.head[c] = free_block;
    ++lists.count[c];
    ODENET_POISON(block, kMinClassBytes << c);
}

}  // namespace odenet::detail
