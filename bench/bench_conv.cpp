// conv2d at the MNIST ODE-Net's sizes (batch 128, 64 channels, float32), forward and
// forward + backward, next to two baselines: one GEMM with the forward's multiply-adds
// (O x C·kh·kw x N·H'·W'), and the chunked GEMMs of the same-width path (3x3, padding 1) run
// forward and backward. For those the gap is what im2col, col2im and the layout copies cost;
// the strided case builds no columns (Note [Implicit im2col]), and its chunked GEMMs are only a
// second reference for the same multiply-adds. The kernels alone (core/conv2d.hpp, no Var, no
// recording) run as BM_conv2d_kernel_*: forward, input gradient and weight gradient separately,
// so that a change to one algorithm shows in its own figure, and the gap between their sum and
// BM_conv2d_forward_backward is what the autodiff glue costs.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <vector>

#include "odenet/autodiff.hpp"
#include "odenet/core/conv2d.hpp"
#include "odenet/core/gemm.hpp"
#include "odenet/core/random.hpp"

using namespace odenet;

namespace {

struct ConvCase {
    std::size_t hw, kernel, stride, padding;
};
// 6x6 3x3 "same" (the ODE function), 13x13 3x3 and 13x13 4x4 stride 2 (the downsampling stage).
const ConvCase kCases[] = {{6, 3, 1, 1}, {13, 3, 1, 1}, {13, 4, 2, 1}};
constexpr std::size_t kBatch = 128, kChannels = 64;

Var param(const Shape& s) { return Var(to_dtype(randn(s), Dtype::float32).value(), true); }

void set_flops(benchmark::State& state, const ConvCase& c, double passes) {
    const std::size_t out = (c.hw + 2 * c.padding - c.kernel) / c.stride + 1;
    const double macs = double(kChannels) * kChannels * c.kernel * c.kernel * kBatch * out * out;
    state.counters["GFLOP/s"] =
        benchmark::Counter(2 * macs * passes * double(state.iterations()), benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

void BM_conv2d_forward(benchmark::State& state) {
    const ConvCase c = kCases[state.range(0)];
    const Var x = param({kBatch, kChannels, c.hw, c.hw}), w = param({kChannels, kChannels, c.kernel, c.kernel});
    const Var b = param({kChannels});
    NoGradGuard no_grad;
    for (auto _ : state) benchmark::DoNotOptimize(conv2d(x, w, b, {.stride = c.stride, .padding = c.padding}));
    set_flops(state, c, 1);
}

void BM_conv2d_forward_backward(benchmark::State& state) {
    const ConvCase c = kCases[state.range(0)];
    const Var x = param({kBatch, kChannels, c.hw, c.hw}), w = param({kChannels, kChannels, c.kernel, c.kernel});
    const Var b = param({kChannels});
    for (auto _ : state) {
        const Var y = conv2d(x, w, b, {.stride = c.stride, .padding = c.padding});
        benchmark::DoNotOptimize(grad({y}, {x, w, b}, {ones_like(y)}));
    }
    set_flops(state, c, 3);  // forward, input gradient, weight gradient: one GEMM each
}

// Baseline: the forward's multiply-adds as one odenet::gemm (what conv2d runs) on ready-made columns.
void BM_sgemm_baseline(benchmark::State& state) {
    const ConvCase c = kCases[state.range(0)];
    const std::size_t out = (c.hw + 2 * c.padding - c.kernel) / c.stride + 1;
    const std::size_t m = kChannels, k = kChannels * c.kernel * c.kernel, n = kBatch * out * out;
    std::vector<float> a(m * k, 0.5f), bm(k * n, 0.25f), cm(m * n);
    for (auto _ : state) {
        gemm(false, false, m, n, k, a.data(), k, bm.data(), n, 0.0f, cm.data(), n);
        benchmark::ClobberMemory();
    }
    set_flops(state, c, 1);
}

// Baseline 2: the GEMMs conv2d's forward and backward run, as it runs them (chunks of about 512
// output columns: forward O x K x cols, input gradient K x O x cols (Aᵀ), weight gradient
// O x cols x K (Bᵀ, accumulated)), on ready-made buffers. For the same-width cases the gap to
// BM_conv2d_forward_backward is what im2col, col2im and the layout copies cost; the strided case
// runs other products (Note [Implicit im2col]), so there it is a reference only.
void BM_conv_chunk_gemms(benchmark::State& state) {
    const ConvCase c = kCases[state.range(0)];
    const std::size_t out = (c.hw + 2 * c.padding - c.kernel) / c.stride + 1, pixels = out * out;
    const std::size_t o = kChannels, k = kChannels * c.kernel * c.kernel;
    const std::size_t per_chunk = std::clamp<std::size_t>(512 / pixels, 1, kBatch);
    std::vector<float> w(o * k, 0.5f), cols(k * per_chunk * pixels, 0.25f), y(o * per_chunk * pixels), dw(o * k);
    for (auto _ : state) {
        for (std::size_t n0 = 0; n0 < kBatch; n0 += per_chunk) {
            const std::size_t ld = std::min(per_chunk, kBatch - n0) * pixels;
            gemm(false, false, o, ld, k, w.data(), k, cols.data(), ld, 0.0f, y.data(), ld);
            gemm(true, false, k, ld, o, w.data(), k, y.data(), ld, 0.0f, cols.data(), ld);
            gemm(false, true, o, k, ld, y.data(), ld, cols.data(), ld, 1.0f, dw.data(), k);
        }
        benchmark::ClobberMemory();
    }
    set_flops(state, c, 3);
}

// ---- The kernels alone, on plain float32 tensors ----
struct KernelOperands {
    Conv2dGeometry g;
    Tensor<float> x, w, b, gy;
};

KernelOperands kernel_operands(const ConvCase& c) {
    Generator gen(0);
    const Conv2dGeometry g = conv2d_geometry({kBatch, kChannels, c.hw, c.hw}, {kChannels, kChannels, c.kernel, c.kernel},
                                             {.stride = c.stride, .padding = c.padding});
    return {g, randn<float>(g.input(), gen), randn<float>(g.weight(), gen), randn<float>({kChannels}, gen),
            randn<float>(g.output(), gen)};
}

void BM_conv2d_kernel_forward(benchmark::State& state) {
    const ConvCase c = kCases[state.range(0)];
    const KernelOperands k = kernel_operands(c);
    for (auto _ : state) benchmark::DoNotOptimize(conv2d_forward(k.g, k.x, k.w, k.b.data()));
    set_flops(state, c, 1);
}

void BM_conv2d_kernel_input_grad(benchmark::State& state) {
    const ConvCase c = kCases[state.range(0)];
    const KernelOperands k = kernel_operands(c);
    for (auto _ : state) benchmark::DoNotOptimize(conv2d_input_grad(k.g, k.gy, k.w));
    set_flops(state, c, 1);
}

void BM_conv2d_kernel_weight_grad(benchmark::State& state) {
    const ConvCase c = kCases[state.range(0)];
    const KernelOperands k = kernel_operands(c);
    for (auto _ : state) benchmark::DoNotOptimize(conv2d_weight_grad(k.g, k.x, k.gy));
    set_flops(state, c, 1);
}

}  // namespace

BENCHMARK(BM_conv2d_forward)->DenseRange(0, 2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_conv2d_forward_backward)->DenseRange(0, 2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_sgemm_baseline)->DenseRange(0, 2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_conv_chunk_gemms)->DenseRange(0, 2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_conv2d_kernel_forward)->DenseRange(0, 2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_conv2d_kernel_input_grad)->DenseRange(0, 2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_conv2d_kernel_weight_grad)->DenseRange(0, 2)->Unit(benchmark::kMillisecond);
#include "bench_main.hpp"  // BENCH_THREADS=1 or 2 sets the thread count
