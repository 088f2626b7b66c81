#pragma once
// Which BLAS does the GEMMs and with how many threads. OpenBLAS owns odenet's only thread pool
// (no OpenMP): on 2 cores two pools fight each other, so set_num_threads is the one knob.
#include <string>

namespace odenet {

struct BlasInfo {
    std::string library;  ///< "OpenBLAS 0.3.21"
    std::string config;   ///< OpenBLAS's build configuration string
    std::string core;     ///< the kernel family in use, e.g. "Haswell"
    int threads = 1;      ///< threads OpenBLAS will use
};

BlasInfo blas_info();

/// "OpenBLAS 0.3.21 (Haswell kernels, 2 threads)".
std::string blas_summary();

/// Sets the number of threads OpenBLAS uses (>= 1). Honoured by every GEMM odenet runs.
void set_num_threads(int threads);
int num_threads();

}  // namespace odenet
