// Note [Heap trimming]
// A training step allocates and frees the same tensor sizes over and over. glibc returns the
// top of the heap to the kernel whenever more than 128 KiB is free there (and serves blocks over
// 128 KiB by mmap), so every step paid brk/munmap system calls, TLB flushes and fresh page faults:
// in a profile of a 2-64-64-64-2 MLP step that was half of the time. Raising both thresholds
// keeps freed memory in the process for reuse. It is a process-wide setting, so odenet makes it
// only when the program calls tune_heap_for_training (it used to run from a static initializer
// in every program that linked odenet).
#include "odenet/core/heap.hpp"

#include <cstdlib>  // defines __GLIBC__ when the C library is glibc

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace odenet {

bool tune_heap_for_training() {
#if defined(__GLIBC__)
    const bool mmap_ok = mallopt(M_MMAP_THRESHOLD, 256 * 1024 * 1024) == 1;
    const bool trim_ok = mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024) == 1;
    return mmap_ok && trim_ok;
#else
    return false;
#endif
}

}  // namespace odenet
