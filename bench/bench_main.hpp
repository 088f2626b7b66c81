#pragma once
// The main() of odenet's benchmark binaries: BENCH_THREADS=1 or 2 sizes odenet's thread pool
// (and OpenBLAS's, for the baselines; default: all cores), the heap is tuned as the examples
// tune it, and the JSON context names the BLAS.
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "odenet/core/blas_info.hpp"
#include "odenet/core/heap.hpp"
#include "odenet/core/parallel.hpp"

int main(int argc, char** argv) {
    odenet::tune_heap_for_training();  // as the examples: the figures are for training programs
    if (const char* t = std::getenv("BENCH_THREADS")) odenet::set_num_threads(std::atoi(t));
    benchmark::AddCustomContext("blas", odenet::blas_summary());
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
