#pragma once
// Turns a hang into a failure that says what hung. A test whose bug shows as a deadlock (a lost
// wake-up in the thread pool) creates a Watchdog; if the scope has not ended `limit` later, the
// watchdog prints "HANG: <what> ..." and ends the process with exit code 1, whether the binary
// runs under ctest (whose TIMEOUT is longer, tests/CMakeLists.txt) or by hand.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

namespace odenet::test {

class Watchdog {
public:
    Watchdog(std::string what, std::chrono::seconds limit)
        : what_(std::move(what)), thread_([this, limit] {
              std::unique_lock lock(mutex_);
              if (!done_changed_.wait_for(lock, limit, [this] { return done_; })) {
                  std::fprintf(stderr, "HANG: %s did not finish within %lld s; ending the test process\n",
                               what_.c_str(), static_cast<long long>(limit.count()));
                  std::fflush(stderr);
                  std::_Exit(EXIT_FAILURE);
              }
          }) {}
    ~Watchdog() {
        {
            std::lock_guard lock(mutex_);
            done_ = true;
        }
        done_changed_.notify_one();
        thread_.join();
    }
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;

private:
    std::string what_;
    std::mutex mutex_;
    std::condition_variable done_changed_;
    bool done_ = false;
    std::thread thread_;  // last: starts once the members it uses exist
};

}  // namespace odenet::test
