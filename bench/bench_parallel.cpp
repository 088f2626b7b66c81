// What odenet's pool costs per parallel_for (Note [Spin before sleeping], core/src/parallel.cpp):
// an axpy over n floats split across the pool, against the same axpy in one call on one thread
// (the baseline, same run). Mode 2 puts a serial axpy of the same size between calls, as the
// unsplit elementwise work of a training step does; the worker idles through the gap.
//   BENCH_THREADS=2 build/bench/bench_parallel --benchmark_format=json
#include <benchmark/benchmark.h>

#include <vector>

#include "bench_main.hpp"
#include "odenet/core/parallel.hpp"

namespace {

void axpy(float* y, const float* x, std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) y[i] += 0.5f * x[i];
}

enum Mode { kSerial = 0, kSplit = 1, kSplitWithGap = 2 };

void BM_axpy(benchmark::State& state) {
    const auto mode = Mode(state.range(0));
    const std::size_t n = std::size_t(state.range(1));
    std::vector<float> x(n, 1.0f), y(n, 0.0f), gap(n, 0.0f);
    for (auto _ : state) {
        if (mode == kSerial) {
            axpy(y.data(), x.data(), 0, n);
        } else {
            odenet::parallel_for(n, [&](std::size_t b, std::size_t e) { axpy(y.data(), x.data(), b, e); });
        }
        if (mode == kSplitWithGap) axpy(gap.data(), x.data(), 0, n);
        benchmark::DoNotOptimize(y.data());
        benchmark::DoNotOptimize(gap.data());
        benchmark::ClobberMemory();
    }
    state.SetLabel(mode == kSerial ? "one call, one thread" : mode == kSplit ? "parallel_for" : "parallel_for + serial gap");
}

// {mode, n}: on one thread here, 4k floats take about 0.25 us, 256k about 25 us.
BENCHMARK(BM_axpy)->ArgsProduct({{kSerial, kSplit, kSplitWithGap}, {4096, 32768, 262144}})->ArgNames({"mode", "n"});

}  // namespace
