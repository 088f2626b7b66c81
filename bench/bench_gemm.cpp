// Our GEMM kernel against OpenBLAS's, and the automatic choice between them, at the product
// shapes the examples run and on a grid around the crossover of Note [Which GEMM kernel]
// (core/src/gemm.cpp). Each kernel runs as odenet::gemm runs it: split by rows of C over the pool
// (BENCH_THREADS), OpenBLAS single-threaded per block. Each row: C (m x n) = op(A) op(B), k the
// inner dimension; t = 1 transposes A, t = 2 B (the variants a backward pass uses). Run it with
// the machine's OpenBLAS core pin and without (PERFORMANCE.md, "GEMM"):
//   BENCH_THREADS=1 build/bench/bench_gemm --benchmark_format=json
//   env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE BENCH_THREADS=1 build/bench/bench_gemm ...
#include <benchmark/benchmark.h>

#include <vector>

#include "bench_main.hpp"
#include "odenet/core/gemm.hpp"

namespace {

constexpr odenet::GemmKernel kKernels[] = {odenet::GemmKernel::odenet, odenet::GemmKernel::openblas,
                                           odenet::GemmKernel::automatic};
constexpr const char* kLabels[] = {"odenet", "openblas", "automatic"};

template <class T>
void BM_gemm(benchmark::State& state) {
    const long impl = state.range(0);
    const std::size_t m = state.range(1), n = state.range(2), k = state.range(3);
    const bool ta = state.range(4) & 1, tb = state.range(4) & 2;
    std::vector<T> a(m * k, T(0.5)), b(k * n, T(0.25)), c(m * n);
    const std::size_t lda = ta ? m : k, ldb = tb ? k : n;
    for (auto _ : state) {
        odenet::gemm(kKernels[impl], ta, tb, m, n, k, a.data(), lda, b.data(), ldb, T(0), c.data(), n);
        benchmark::DoNotOptimize(c.data());
        benchmark::ClobberMemory();
    }
    state.counters["GFLOPS"] =
        benchmark::Counter(2.0 * double(m * n * k), benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
    state.SetLabel(kLabels[impl]);
}

// {impl, m, n, k, transposes (1: A, 2: B)}
void shapes(benchmark::internal::Benchmark* b) {
    const std::vector<std::vector<long>> rows = {
        {100, 64, 64, 0}, {100, 64, 64, 2}, {64, 64, 100, 1},   // small MLP / CNF: forward, dX, dW
        {100, 64, 2, 0},  {100, 2, 64, 2},  {2, 64, 100, 1},    // its first layer
        {512, 64, 64, 0}, {512, 64, 64, 2}, {64, 64, 512, 1},   // batch 512
        {256, 1024, 784, 0}, {256, 1024, 1024, 0},              // large MLP
        {64, 504, 576, 0}, {576, 504, 64, 1}, {64, 576, 504, 2},  // ODE-Net conv 3x3 on 6x6 maps, one chunk of 14 images
    };
    for (const auto& r : rows)
        for (long impl : {0, 1, 2}) b->Args({impl, r[0], r[1], r[2], r[3]});
}

// The crossover: untransposed products over a grid of m, n and k.
void grid(benchmark::internal::Benchmark* b) {
    for (long m : {64, 128, 256, 512})
        for (long n : {64, 256, 512, 1024})
            for (long k : {64, 256, 784})
                for (long impl : {0, 1, 2}) b->Args({impl, m, n, k, 0});
}

BENCHMARK(BM_gemm<float>)->Apply(shapes)->ArgNames({"impl", "m", "n", "k", "t"});
BENCHMARK(BM_gemm<double>)->Apply(shapes)->ArgNames({"impl", "m", "n", "k", "t"});
BENCHMARK(BM_gemm<float>)->Name("BM_gemm_grid<float>")->Apply(grid)->ArgNames({"impl", "m", "n", "k", "t"});
BENCHMARK(BM_gemm<double>)->Name("BM_gemm_grid<double>")->Apply(grid)->ArgNames({"impl", "m", "n", "k", "t"});

}  // namespace
