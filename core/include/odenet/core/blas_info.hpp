#pragma once
// Which BLAS is linked and how it is configured. odenet's own thread count is in parallel.hpp.
#include <string>

namespace odenet {

struct BlasInfo {
    std::string library;  ///< "OpenBLAS 0.3.21"
    std::string config;   ///< OpenBLAS's build configuration string
    std::string core;     ///< the kernel family in use, e.g. "Haswell"
    int threads = 1;      ///< threads OpenBLAS will use
};

BlasInfo blas_info();

/// "OpenBLAS 0.3.21 (Haswell kernels), odenet 2 threads".
std::string blas_summary();

}  // namespace odenet
