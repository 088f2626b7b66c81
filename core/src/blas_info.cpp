#include "odenet/core/blas_info.hpp"

#include <cblas.h>

#include "odenet/core/error.hpp"

namespace odenet {

BlasInfo blas_info() {
    BlasInfo info;
    info.config = openblas_get_config();
    info.core = openblas_get_corename();
    info.threads = openblas_get_num_threads();
    // The config string starts with "OpenBLAS <version>"; keep those two words.
    const auto second_space = info.config.find(' ', info.config.find(' ') + 1);
    info.library = info.config.substr(0, second_space);
    return info;
}

std::string blas_summary() {
    const BlasInfo info = blas_info();
    return info.library + " (" + info.core + " kernels, " + std::to_string(info.threads) +
           (info.threads == 1 ? " thread)" : " threads)");
}

void set_num_threads(int threads) {
    if (threads < 1) throw ValueError("set_num_threads", "thread count must be >= 1, got " + std::to_string(threads));
    openblas_set_num_threads(threads);
}

int num_threads() { return openblas_get_num_threads(); }

}  // namespace odenet
