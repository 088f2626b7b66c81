#pragma once
// A lock for sections of a few instructions (taking a leaf's accumulator, adding into a
// gradient), where a pthread mutex's lock and unlock cost more than the section itself.
#include <atomic>

namespace odenet {

class SpinLock {
public:
    void lock() noexcept {
        while (flag_.test_and_set(std::memory_order_acquire)) {
            while (flag_.test(std::memory_order_relaxed)) {
            }
        }
    }
    void unlock() noexcept { flag_.clear(std::memory_order_release); }

private:
    std::atomic_flag flag_ = ATOMIC_FLAG_INIT;
};

}  // namespace odenet
