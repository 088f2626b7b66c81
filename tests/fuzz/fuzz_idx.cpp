// libFuzzer target for the IDX parser: any input must either parse or throw odenet::Error;
// a crash, a sanitizer report, an out-of-memory or a different exception is a bug.
// Build and run: scripts/fuzz-idx [seconds].
#include <cstddef>
#include <cstdint>

#include "odenet/core/error.hpp"
#include "odenet/util/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        const odenet::util::IdxArray a = odenet::util::parse_idx(data, size, "fuzz");
        // Invariant of a successful parse: the data is exactly the product of the dimensions.
        std::size_t n = 1;
        for (std::size_t d : a.dims) n *= d;
        if (n != a.data.size()) __builtin_trap();
    } catch (const odenet::Error&) {
    }
    return 0;
}
