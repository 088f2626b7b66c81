// Note [One thread owner]
// On a 2-core machine two thread pools that are both active fight for the cores: threads of
// one spin while the other's hold the cores (seen here with PyTorch, OpenMP next to OpenBLAS:
// 2-3x slower). odenet therefore has one pool, this one, and set_num_threads sizes it. The work
// that is worth splitting is split here: GEMMs above a size (core/src/gemm.cpp, by rows of C)
// and the convolutions' batch chunks (core/src/conv2d_same.cpp). A GEMM block that runs on
// OpenBLAS (Note [Which GEMM kernel]) runs it single-threaded: odenet sets OpenBLAS's thread count
// to 1 before its first call, so OpenBLAS's own pool never runs next to this one.
// Blocks are static (contiguous, equal): the split work is uniform, and a static split needs
// no shared queue. Nested calls run inline, so a block that calls gemm does not wait on a pool
// that is busy running it.
//
// Note [Spin before sleeping]
// A worker that sleeps on the condition variable costs the caller a futex wake-up per
// parallel_for, and the worker a scheduler wake-up latency before it starts. A training step of
// the MNIST ODE-Net at batch 32 hands the pool many small blocks: 12% of its samples (perf) were
// that wake-up, and two threads ran only 1.1x faster than one. So a worker first spins (pause
// instructions, no lock) for kSpin after its last block, watching the generation counter, and
// only then sleeps; the caller likewise spins for its workers to finish before it sleeps. In the
// common case of back-to-back calls both find the other awake, and a notify that finds no
// sleeper makes no system call. An idle pool is asleep again within kSpin. A host program that
// runs its own threads next to odenet's may want less (set_spin_time, ODENET_SPIN_US).
#include "odenet/core/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>


#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "odenet/core/error.hpp"

namespace odenet {

namespace {

thread_local bool in_region = false;

// How long a worker, or a caller waiting for its workers, spins before it sleeps (Note [Spin
// before sleeping]): kSpin, or ODENET_SPIN_US, or set_spin_time.
constexpr auto kSpin = std::chrono::microseconds(100);
constexpr auto kMaxSpin = std::chrono::microseconds(1'000'000);

// More threads than this is a typo, not a machine: each costs a stack and a wake-up.
constexpr int kMaxThreads = 1024;

// The environment variable `name` as a whole number in [lo, hi], or `fallback` when it is unset.
// Anything else (empty, signs, spaces, fractions, units, out of range) is a ValueError naming
// the variable, the value and the range.
long long env_whole(const char* name, long long lo, long long hi, long long fallback, const char* unit) {
    const char* env = std::getenv(name);
    if (!env) return fallback;
    char* end = nullptr;
    const long long v = std::strtoll(env, &end, 10);
    const bool digits_only = env[0] >= '0' && env[0] <= '9' && end != env && *end == '\0';
    if (!digits_only || v < lo || v > hi)
        throw ValueError(name, "'" + std::string(env) + "' is not a whole number of " + unit + " in [" + std::to_string(lo) +
                                   ", " + std::to_string(hi) + "]");
    return v;
}

std::chrono::microseconds default_spin() {
    return std::chrono::microseconds(env_whole("ODENET_SPIN_US", 0, kMaxSpin.count(), kSpin.count(), "microseconds"));
}

// Read by spinning threads without a lock. -1 until set_spin_time or the pool's creation sets
// it: the environment is read then, on the caller's thread, so that a bad ODENET_SPIN_US is a
// ValueError from the first parallel_for, not a failure before main.
std::atomic<std::int64_t> spin_us{-1};

void load_spin_setting() {
    if (spin_us.load() >= 0) return;
    std::int64_t unset = -1;
    spin_us.compare_exchange_strong(unset, default_spin().count());
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
}

// Spins until ready() or kSpin has passed; returns ready().
template <class Ready>
bool spin_until(Ready&& ready) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(spin_us.load(std::memory_order_relaxed));
    for (;;) {
        for (int i = 0; i < 64; ++i) {
            if (ready()) return true;
            cpu_relax();
        }
        if (std::chrono::steady_clock::now() >= deadline) return ready();
    }
}

class Pool {
public:
    explicit Pool(int threads) { resize(threads); }
    ~Pool() { stop(); }

    // Atomic: num_threads() reads it without pool_mutex while set_num_threads may resize.
    int size() const { return size_.load(); }

    void resize(int threads) {
        stop();
        try {
            std::lock_guard lock(mutex_);
            stopping_ = false;
            // A new worker has seen every run so far: it waits for the next one.
            for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i, seen = generation_.load()] { work(i, seen); });
        } catch (const std::system_error& e) {
            // The system refused a thread: join the ones started. A resized pool is left with one
            // thread, which num_threads() reports; a pool being created is not created, so the
            // next call tries again and fails the same way.
            const std::size_t started = workers_.size();
            stop();
            throw Error("thread pool", "could not start " + std::to_string(threads) + " threads (" +
                        std::to_string(started + 1) + " running when the system refused: " + e.what() +
                        "); ask for fewer with set_num_threads or ODENET_NUM_THREADS");
        }
        size_.store(threads);
    }

    void run(std::size_t blocks, const std::function<void(std::size_t)>& block) {
        std::unique_lock lock(mutex_);
        block_ = &block;
        blocks_ = blocks;
        pending_.store(blocks - 1);  // block 0 runs on the caller
        error_ = nullptr;
        generation_.fetch_add(1);
        wake_.notify_all();
        lock.unlock();
        run_block(0);
        spin_until([this] { return pending_.load(std::memory_order_acquire) == 0; });
        lock.lock();
        done_.wait(lock, [this] { return pending_.load() == 0; });
        block_ = nullptr;
        if (error_) std::rethrow_exception(error_);
    }

private:
    void run_block(std::size_t index) {
        in_region = true;
        try {
            (*block_)(index);
        } catch (...) {
            std::lock_guard lock(mutex_);
            if (!error_) error_ = std::current_exception();
        }
        in_region = false;
    }

    void work(int index, std::uint64_t seen) {
        for (;;) {
            // Lock-free watch first; the state itself is read under the lock below.
            spin_until([&] { return generation_.load(std::memory_order_acquire) != seen || stopping_.load(); });
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_.load() || generation_.load() != seen; });
            if (stopping_) return;
            seen = generation_.load();
            if (!block_ || std::size_t(index) >= blocks_) continue;
            lock.unlock();
            run_block(std::size_t(index));
            lock.lock();
            if (pending_.fetch_sub(1) == 1) done_.notify_one();
        }
    }

    void stop() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
            wake_.notify_all();
        }
        for (auto& t : workers_) t.join();
        workers_.clear();
        size_.store(1);
    }

    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable wake_, done_;
    const std::function<void(std::size_t)>* block_ = nullptr;
    std::size_t blocks_ = 0;
    // Atomic so that spinning threads may read them without the lock; written under it.
    std::atomic<std::size_t> pending_{0};
    std::atomic<std::uint64_t> generation_{0};
    std::atomic<bool> stopping_{false};
    std::atomic<int> size_{1};
    std::exception_ptr error_;
};

// ODENET_NUM_THREADS, else the hardware's thread count.
int default_threads() {
    const int hardware = int(std::clamp(std::thread::hardware_concurrency(), 1u, unsigned(kMaxThreads)));
    return int(env_whole("ODENET_NUM_THREADS", 1, kMaxThreads, hardware, "threads"));
}

std::mutex pool_mutex;  // serialises parallel_for callers from different threads and resizes

Pool& pool() {
    static Pool instance((load_spin_setting(), default_threads()));
    return instance;
}

}  // namespace

bool in_parallel_region() { return in_region; }

void parallel_for(std::size_t n, const std::function<void(std::size_t, std::size_t)>& body, std::size_t min_block) {
    if (n == 0) return;
    const std::size_t most = std::max<std::size_t>(1, n / std::max<std::size_t>(min_block, 1));
    if (in_region || most <= 1) return body(0, n);
    std::unique_lock lock(pool_mutex, std::try_to_lock);
    if (!lock.owns_lock()) return body(0, n);  // another thread holds the pool: run here
    // The size is read under pool_mutex: set_num_threads on another thread cannot shrink the
    // pool between this read and run(), which would wait for blocks no worker runs.
    const std::size_t blocks = std::min(std::size_t(pool().size()), most);
    if (blocks <= 1) {
        lock.unlock();
        return body(0, n);
    }
    pool().run(blocks, [&](std::size_t b) { body(n * b / blocks, n * (b + 1) / blocks); });
}

void set_num_threads(int threads) {
    if (threads < 1 || threads > kMaxThreads)
        throw ValueError("set_num_threads", "thread count must be in [1, " + std::to_string(kMaxThreads) + "], got " +
                                                std::to_string(threads));
    // The pool cannot be resized by one of the blocks it is running (that would wait on itself).
    if (in_region) throw ValueError("set_num_threads", "called inside a parallel_for block");
    std::lock_guard lock(pool_mutex);
    if (pool().size() != threads) pool().resize(threads);
}

int num_threads() { return pool().size(); }

void set_spin_time(std::chrono::microseconds spin) {
    if (spin.count() < 0 || spin > kMaxSpin)
        throw ValueError("set_spin_time", "spin time must be in [0, " + std::to_string(kMaxSpin.count()) + "] µs, got " +
                                              std::to_string(spin.count()) + " µs");
    spin_us.store(spin.count());
}

std::chrono::microseconds spin_time() {
    load_spin_setting();
    return std::chrono::microseconds(spin_us.load());
}

}  // namespace odenet
