#pragma once
// The main() of odenet's benchmark binaries: BENCH_THREADS=1 or 2 sizes odenet's thread pool
// (and OpenBLAS's, for the baselines; default: all cores), and the JSON context names the BLAS.
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "odenet/core/blas_info.hpp"

int main(int argc, char** argv) {
    if (const char* t = std::getenv("BENCH_THREADS")) odenet::set_num_threads(std::atoi(t));
    benchmark::AddCustomContext("blas", odenet::blas_summary());
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
