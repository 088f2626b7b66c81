#pragma once
// Which BLAS is linked and with how many threads, and odenet's thread count. odenet owns the
// one thread pool that does work (Note [One thread owner], core/src/parallel.cpp), so
// set_num_threads is the one knob.
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

/// Sets the number of threads odenet's pool runs (>= 1; default: ODENET_NUM_THREADS, else the
/// hardware's thread count), and OpenBLAS's, which only the benchmarks' baselines use.
void set_num_threads(int threads);
int num_threads();

}  // namespace odenet
