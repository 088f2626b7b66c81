#pragma once
// The lock of a leaf's gradient accumulator. It is taken once per leaf per backward and almost
// never contended (only graphs backpropagated on several threads at once share leaves), so its
// cost is the uncontended lock and unlock, which a pthread mutex makes larger than a short
// section. The section is not always short: it adds a whole incoming gradient, or allocates the
// sum. So a waiter spins only briefly and then yields its core, rather than spinning through the
// time slice of a holder that the scheduler has preempted (two cores, more threads than cores).
#include <atomic>
#include <thread>

namespace odenet {

class SpinLock {
public:
    void lock() noexcept {
        int spins = 0;
        while (flag_.test_and_set(std::memory_order_acquire)) {
            while (flag_.test(std::memory_order_relaxed)) {
                if (++spins > kSpinsBeforeYield) std::this_thread::yield();
            }
        }
    }
    void unlock() noexcept { flag_.clear(std::memory_order_release); }

private:
    // About a microsecond of polling: longer than an uncontended section of a small leaf.
    static constexpr int kSpinsBeforeYield = 1000;
    std::atomic_flag flag_ = ATOMIC_FLAG_INIT;
};

}  // namespace odenet
