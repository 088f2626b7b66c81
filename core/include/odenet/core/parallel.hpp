#pragma once
// odenet's one thread pool. See Note [One thread owner] in core/src/parallel.cpp.
#include <cstddef>
#include <functional>

namespace odenet {

/// Runs body(begin, end) over disjoint blocks covering [0, n), on up to num_threads() threads
/// (the caller is one of them), and returns when all are done. An exception thrown by a block
/// is rethrown here. Called from inside a parallel block, it runs inline: work never nests.
/// `min_block` is the smallest block worth a thread (a wake-up costs microseconds).
void parallel_for(std::size_t n, const std::function<void(std::size_t begin, std::size_t end)>& body,
                  std::size_t min_block = 1);

/// True on a thread currently running a block of parallel_for.
bool in_parallel_region();

}  // namespace odenet
