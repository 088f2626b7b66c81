#pragma once
// odenet's one thread pool. See Note [One thread owner] in core/src/parallel.cpp.
#include <chrono>
#include <cstddef>
#include <functional>

namespace odenet {

/// Sets the number of threads odenet's pool runs, 1 to 1024 (default: ODENET_NUM_THREADS, a whole
/// number in the same range, else the hardware's thread count). OpenBLAS, where odenet calls it,
/// runs single-threaded inside the pool's blocks (odenet sets its count to 1). Throws ValueError outside the range (a bad ODENET_NUM_THREADS:
/// from the first call that uses the pool), and Error ("thread pool: ...") when the system
/// refuses a thread, after which a resized pool runs on 1 thread.
void set_num_threads(int threads);
int num_threads();

/// How long an idle worker, or a caller waiting for its workers, spins before it sleeps (Note
/// [Spin before sleeping] in core/src/parallel.cpp). Default 100 µs, or ODENET_SPIN_US
/// (microseconds, 0 to 1000000) when set. 0 stops spinning: the pool then costs no CPU between
/// calls, at the price of a wake-up per parallel_for. Throws ValueError outside [0 µs, 1 s].
void set_spin_time(std::chrono::microseconds spin);
std::chrono::microseconds spin_time();

/// Runs body(begin, end) over disjoint blocks covering [0, n), on up to num_threads() threads
/// (the caller is one of them), and returns when all are done. An exception thrown by a block
/// is rethrown here. Called from inside a parallel block, it runs inline: work never nests.
/// `min_block` is the smallest block worth a thread (a wake-up costs microseconds).
void parallel_for(std::size_t n, const std::function<void(std::size_t begin, std::size_t end)>& body,
                  std::size_t min_block = 1);

/// True on a thread currently running a block of parallel_for.
bool in_parallel_region();

}  // namespace odenet
