// odenet::small_gemm against OpenBLAS at the product shapes the examples run, to place the
// threshold of Note [Small GEMMs] (core/src/gemm.cpp). Each row: C (m x n) = op(A) op(B),
// k the inner dimension; "nt"/"tn" are the transposed variants a backward pass uses.
//   BENCH_THREADS=1 build/bench/bench_gemm --benchmark_format=json
#include <benchmark/benchmark.h>

#include <vector>

#include "bench_main.hpp"
#include "odenet/core/gemm.hpp"

namespace {

enum Impl { kOdenet = 0, kOpenblas = 1 };

template <class T>
void BM_gemm(benchmark::State& state) {
    const auto impl = Impl(state.range(0));
    const std::size_t m = state.range(1), n = state.range(2), k = state.range(3);
    const bool ta = state.range(4) & 1, tb = state.range(4) & 2;
    std::vector<T> a(m * k, T(0.5)), b(k * n, T(0.25)), c(m * n);
    const std::size_t lda = ta ? m : k, ldb = tb ? k : n;
    for (auto _ : state) {
        if (impl == kOdenet) {
            odenet::small_gemm(ta, tb, m, n, k, a.data(), lda, b.data(), ldb, T(0), c.data(), n);
        } else {
            odenet::blas_gemm(ta, tb, m, n, k, a.data(), lda, b.data(), ldb, T(0), c.data(), n);
        }
        benchmark::DoNotOptimize(c.data());
        benchmark::ClobberMemory();
    }
    state.counters["GFLOPS"] =
        benchmark::Counter(2.0 * double(m * n * k), benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
    state.SetLabel(impl == kOdenet ? "odenet" : "openblas");
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
        for (long impl : {kOdenet, kOpenblas}) b->Args({impl, r[0], r[1], r[2], r[3]});
}

BENCHMARK(BM_gemm<float>)->Apply(shapes)->ArgNames({"impl", "m", "n", "k", "t"});
BENCHMARK(BM_gemm<double>)->Apply(shapes)->ArgNames({"impl", "m", "n", "k", "t"});

}  // namespace
