#include "odenet/core/blas_info.hpp"
#include "odenet/core/parallel.hpp"

#include <cblas.h>


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
    const int threads = num_threads();
    return info.library + " (" + info.core + " kernels), odenet " + std::to_string(threads) +
           (threads == 1 ? " thread" : " threads");
}

}  // namespace odenet
