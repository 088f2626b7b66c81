// Group norm at the MNIST ODE-Net's sizes (batch 128, 64 channels in 32 groups, float32; 6x6
// maps in the dynamics, 13x13 after the first downsampling): the fused kernels alone
// (core/group_norm.hpp, no Var) forward and backward, next to the group_norm op's forward and
// backward through the tape in the same run (the gap is what the autodiff glue costs).
#include <benchmark/benchmark.h>

#include <cstdint>

#include "odenet/autodiff.hpp"
#include "odenet/core/group_norm.hpp"
#include "odenet/core/random.hpp"

using namespace odenet;

namespace {

constexpr std::size_t kBatch = 128, kChannels = 64, kGroups = 32;
constexpr double kEps = 1e-5;

Shape map_shape(const benchmark::State& state) {
    const auto hw = static_cast<std::size_t>(state.range(0));
    return {kBatch, kChannels, hw, hw};
}

void set_bytes(benchmark::State& state, std::size_t tensors_touched) {
    const double bytes = double(numel(map_shape(state))) * sizeof(float) * double(tensors_touched);
    state.SetBytesProcessed(static_cast<std::int64_t>(bytes * double(state.iterations())));
}

void BM_group_norm_kernel_forward(benchmark::State& state) {
    Generator gen(0);
    const GroupNormLayout L = group_norm_layout(map_shape(state), kGroups);
    const Tensor<float> x = randn<float>(map_shape(state), gen);
    const Tensor<float> w = randn<float>({kChannels}, gen), b = randn<float>({kChannels}, gen);
    for (auto _ : state) benchmark::DoNotOptimize(group_norm_forward(L, x, w.data(), b.data(), kEps));
    set_bytes(state, 2);  // x read, y written (x's second read hits the cache per group)
}

void BM_group_norm_kernel_backward(benchmark::State& state) {
    Generator gen(0);
    const GroupNormLayout L = group_norm_layout(map_shape(state), kGroups);
    const Tensor<float> x = randn<float>(map_shape(state), gen), g = randn<float>(map_shape(state), gen);
    const Tensor<float> w = randn<float>({kChannels}, gen);
    for (auto _ : state) benchmark::DoNotOptimize(group_norm_backward(L, x, g, w.data(), kEps));
    set_bytes(state, 3);  // x and g read, dx written
}

// Baseline: the group_norm op forward and backward (all three gradients) through the tape.
void BM_group_norm_op_forward_backward(benchmark::State& state) {
    Generator gen(0);
    const Var x(randn<float>(map_shape(state), gen), true);
    const Var w(randn<float>({kChannels}, gen), true), b(randn<float>({kChannels}, gen), true);
    const Var gy(randn<float>(map_shape(state), gen));
    for (auto _ : state) {
        const Var y = group_norm(x, kGroups, w, b, kEps);
        benchmark::DoNotOptimize(grad({y}, {x, w, b}, {gy}));
    }
    set_bytes(state, 5);
}

}  // namespace

BENCHMARK(BM_group_norm_kernel_forward)->Arg(6)->Arg(13)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_group_norm_kernel_backward)->Arg(6)->Arg(13)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_group_norm_op_forward_backward)->Arg(6)->Arg(13)->Unit(benchmark::kMicrosecond);
#include "bench_main.hpp"  // BENCH_THREADS=1 or 2 sets the thread count
