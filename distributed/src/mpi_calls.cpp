#include "mpi_calls.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <sstream>
#include <thread>

#include "odenet/core/tensor.hpp"

namespace odenet::distributed::detail {

void check(int rc, const std::string& where) {
    if (rc == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(rc, text, &length);
    throw CommunicationError(where, std::string(text, std::size_t(length)));
}

std::string layout(const std::vector<std::pair<std::string, Var>>& tensors, const std::string& what) {
    std::string text;
    for (const auto& [name, v] : tensors) {
        if (!v.defined()) throw ValueError(what, "tensor '" + name + "' is undefined");
        text += name + " " + shape_str(v.shape()) + " " + dtype_name(v.dtype()) + "; ";
    }
    return text;
}

std::uint64_t fingerprint(const void* data, std::size_t bytes) {
    std::uint64_t h = 1469598103934665603ull;
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

int count(std::size_t n, const std::string& what) {
    if (n > std::size_t(std::numeric_limits<int>::max())) {
        throw ValueError(what, std::to_string(n) + " elements in one MPI call; MPI counts stop at " +
                                   std::to_string(std::numeric_limits<int>::max()) + " (use smaller buckets)");
    }
    return int(n);
}

void wait(const World& world, MPI_Request& request, const std::string& what) {
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    const auto deadline = start + std::chrono::duration<double>(world.timeout());
    // Poll without sleeping for the first 100 ms, yielding the core between polls: MPI moves a
    // non-blocking transfer forward only inside calls like MPI_Test, so a sleeping waiter would
    // delay every round of a large all-reduce, and in a training step the other ranks are
    // usually there within milliseconds. After that, sleep between polls (up to 1 ms), so that a
    // rank waiting for a slow one leaves it the core.
    auto pause = std::chrono::microseconds(0);
    while (true) {
        int done = 0;
        check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), what);
        if (done) return;
        const auto now = clock::now();
        if (now > deadline) {
            std::ostringstream limit;
            limit << world.timeout();
            throw TimeoutError(what, world.name() + " waited " + limit.str() +
                                         " s for the other ranks; one of them is stuck, or has failed without "
                                         "ending the job (WorldOptions::timeout_seconds sets the limit)");
        }
        if (now - start < std::chrono::milliseconds(100)) {
            std::this_thread::yield();
            continue;
        }
        pause = std::min(std::chrono::microseconds(1000), pause + std::chrono::microseconds(20));
        std::this_thread::sleep_for(pause);
    }
}

}  // namespace odenet::distributed::detail
