#pragma once
// Process-wide heap tuning for training loops, made only when a program asks for it: linking
// odenet changes nothing about the host program's allocator.

namespace odenet {

/// Keeps freed memory in the process instead of returning it to the kernel after every step
/// (glibc's mmap and trim thresholds raised to 256 MiB and 1 GiB; Note [Heap trimming] in
/// core/src/heap.cpp). Call it once at the start of a training program; the examples and
/// benchmarks do. It costs resident memory: the peak of a step stays mapped. Returns whether the
/// allocator accepted the settings: false without glibc, or under AddressSanitizer, whose
/// allocator replaces glibc's and ignores mallopt.
bool tune_heap_for_training();

}  // namespace odenet
