// nn layers, forward + backward, each next to the bare GEMM time of the same work in the same run.
//
//  * Linear (always built): BM_Linear_step vs BM_Linear_gemm (the three GEMMs of a linear layer:
//    y = x Wᵀ, dW = gyᵀ x, dx = gy W).
//  * Conv2d at the ODE-Net shapes (batch 128, 64 channels; 6x6 maps with 3x3 kernels, padding 1,
//    as in the ODE block; 13x13 -> 6x6 with 4x4 kernels, stride 2, padding 1, as in the
//    downsampling): BM_Conv2d_step vs BM_Conv2d_gemm, the three im2col GEMMs
//    (O x Ckk x NHW forward, the weight gradient and the column gradient). Target: <= 1.3x.
//  * The split of one ODE-Net dynamics evaluation (GroupNorm, ReLU, ConcatConv2d, twice, then
//    GroupNorm), forward + backward: BM_OdeFunc_step against its parts, BM_Part_conv,
//    BM_Part_group_norm, BM_Part_relu at the same shapes.
//
// Run: build/bench/bench_nn --benchmark_format=json (float32, as ODE-Net training).
#include <benchmark/benchmark.h>

#include <vector>

#include "odenet/core/gemm.hpp"
#include "odenet/nn.hpp"

namespace on = odenet;
namespace nn = odenet::nn;

namespace {

// The GEMM the ops run (odenet::gemm: Note [Which GEMM kernel]), so a ratio is the layer's own overhead.
void gemm(bool ta, bool tb, int m, int n, int k, const float* a, const float* b, float* c) {
    on::gemm(ta, tb, m, n, k, a, ta ? m : k, b, tb ? k : n, 0.0f, c, n);
}

// Three GEMMs with the shapes of a layer's forward and backward: (m x k) @ (k x n) and its two
// adjoints, on preallocated buffers.
void three_gemms(benchmark::State& state, int m, int n, int k) {
    std::vector<float> a(static_cast<std::size_t>(m) * k, 0.5f), b(static_cast<std::size_t>(k) * n, 0.25f),
        c(static_cast<std::size_t>(m) * n, 0.0f), ga(a.size()), gb(b.size());
    for (auto _ : state) {
        gemm(false, false, m, n, k, a.data(), b.data(), c.data());   // c = a b
        gemm(true, false, k, n, m, a.data(), c.data(), gb.data());   // gb = aᵀ gc
        gemm(false, true, m, k, n, c.data(), b.data(), ga.data());   // ga = gc bᵀ
        benchmark::DoNotOptimize(ga.data());
        benchmark::DoNotOptimize(gb.data());
        benchmark::ClobberMemory();
    }
    state.counters["GFLOP/s"] =
        benchmark::Counter(6.0 * m * n * k, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

// ---- Linear ------------------------------------------------------------------------------------
void linear_step(benchmark::State& state, bool bias) {
    const auto batch = static_cast<std::size_t>(state.range(0)), width = static_cast<std::size_t>(state.range(1));
    on::manual_seed(0);
    nn::Linear lin(width, width, {.bias = bias, .dtype = on::Dtype::float32});
    const on::Var x = on::randn({batch, width}, on::Dtype::float32);
    const on::Var gy = on::ones({batch, width}, on::Dtype::float32);
    for (auto _ : state) {
        lin.zero_grad();
        on::Var y = lin(x);
        on::backward(y, gy);
        benchmark::DoNotOptimize(lin.weight.grad().impl());
    }
}
void BM_Linear_step(benchmark::State& state) { linear_step(state, true); }
// Without the bias: the difference to BM_Linear_step is the bias add and its batch-sum gradient.
void BM_Linear_nobias_step(benchmark::State& state) { linear_step(state, false); }
void BM_Linear_gemm(benchmark::State& state) {
    three_gemms(state, static_cast<int>(state.range(0)), static_cast<int>(state.range(1)), static_cast<int>(state.range(1)));
}
BENCHMARK(BM_Linear_step)->Args({128, 64})->Args({512, 256})->Args({1024, 1024})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Linear_nobias_step)->Args({128, 64})->Args({512, 256})->Args({1024, 1024})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Linear_gemm)->Args({128, 64})->Args({512, 256})->Args({1024, 1024})->Unit(benchmark::kMicrosecond);

// ---- Conv2d ------------------------------------------------------------------------------------
// Args: spatial size H (= W), kernel, stride, padding; batch 128, 64 -> 64 channels.
constexpr std::size_t kBatch = 128, kChannels = 64;

void BM_Conv2d_step(benchmark::State& state) {
    const auto h = static_cast<std::size_t>(state.range(0)), k = static_cast<std::size_t>(state.range(1));
    on::manual_seed(0);
    nn::Conv2d conv(kChannels, kChannels, k,
                    {.stride = static_cast<std::size_t>(state.range(2)), .padding = static_cast<std::size_t>(state.range(3)),
                     .dtype = on::Dtype::float32});
    const on::Var x(on::randn<float>({kBatch, kChannels, h, h}), true);
    const on::Var y0 = conv(x);
    const on::Var gy = on::ones(y0.shape(), on::Dtype::float32);
    for (auto _ : state) {
        conv.zero_grad();
        on::Var xx = x;
        xx.zero_grad();
        on::backward(conv(x), gy);
        benchmark::DoNotOptimize(x.grad().impl());
    }
}
void BM_Conv2d_gemm(benchmark::State& state) {
    const int h = static_cast<int>(state.range(0)), k = static_cast<int>(state.range(1));
    const int s = static_cast<int>(state.range(2)), p = static_cast<int>(state.range(3));
    const int ho = (h + 2 * p - k) / s + 1;
    // im2col: weight (O x C k k) @ columns (C k k x N Ho Wo).
    three_gemms(state, static_cast<int>(kChannels), static_cast<int>(kBatch) * ho * ho, static_cast<int>(kChannels) * k * k);
}
BENCHMARK(BM_Conv2d_step)->Args({6, 3, 1, 1})->Args({13, 4, 2, 1})->Unit(benchmark::kMicrosecond);

// The ODE-Net's first layer, 1 -> 64 channels, 3x3, no padding, on 28x28 images: a product with
// k = 9, where writing the output costs more than the multiply-adds. Forward and weight
// gradient (the images need no gradient); no GEMM baseline, a guard against regressions.
void BM_Conv2d_first_layer(benchmark::State& state) {
    on::manual_seed(0);
    nn::Conv2d conv(1, kChannels, 3, {.dtype = on::Dtype::float32});
    const on::Var x(on::randn<float>({kBatch, 1, 28, 28}));
    const on::Var gy = on::ones(conv(x).shape(), on::Dtype::float32);
    for (auto _ : state) {
        conv.zero_grad();
        on::backward(conv(x), gy);
        benchmark::DoNotOptimize(conv.weight.grad().impl());
    }
}
BENCHMARK(BM_Conv2d_first_layer)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Conv2d_gemm)->Args({6, 3, 1, 1})->Args({13, 4, 2, 1})->Unit(benchmark::kMicrosecond);

// ---- The split of one ODE-Net dynamics evaluation at (128, 64, 6, 6) ---------------------------
struct OdeFunc : nn::Module {
    nn::GroupNorm norm1{32, kChannels, {.dtype = on::Dtype::float32}};
    nn::ConcatConv2d conv1{kChannels, kChannels, 3, {.padding = 1, .dtype = on::Dtype::float32}};
    nn::GroupNorm norm2{32, kChannels, {.dtype = on::Dtype::float32}};
    nn::ConcatConv2d conv2{kChannels, kChannels, 3, {.padding = 1, .dtype = on::Dtype::float32}};
    nn::GroupNorm norm3{32, kChannels, {.dtype = on::Dtype::float32}};
    OdeFunc() {
        register_module("norm1", norm1);
        register_module("conv1", conv1);
        register_module("norm2", norm2);
        register_module("conv2", conv2);
        register_module("norm3", norm3);
    }
    on::Var forward(const on::Var& t, const on::Var& x) {
        on::Var h = conv1(t, on::relu(norm1(x)));
        h = conv2(t, on::relu(norm2(h)));
        return norm3(h);
    }
};

const on::Shape kMap{kBatch, kChannels, 6, 6};

template <class F>
void fwd_bwd(benchmark::State& state, F&& f) {
    const on::Var x(on::randn<float>(kMap), true);
    const on::Var gy = on::ones(kMap, on::Dtype::float32);
    for (auto _ : state) {
        on::Var xx = x;
        xx.zero_grad();
        on::backward(f(x), gy);
        benchmark::DoNotOptimize(x.grad().impl());
    }
}

void BM_OdeFunc_step(benchmark::State& state) {
    on::manual_seed(0);
    OdeFunc func;
    const on::Var t = on::Var::scalar(0.5);
    fwd_bwd(state, [&](const on::Var& x) { return func.forward(t, x); });
}
void BM_Part_conv(benchmark::State& state) {  // two ConcatConv2d, as in one evaluation
    on::manual_seed(0);
    OdeFunc func;
    const on::Var t = on::Var::scalar(0.5);
    fwd_bwd(state, [&](const on::Var& x) { return func.conv2(t, func.conv1(t, x)); });
}
void BM_Part_group_norm(benchmark::State& state) {  // three GroupNorms
    on::manual_seed(0);
    OdeFunc func;
    fwd_bwd(state, [&](const on::Var& x) { return func.norm3(func.norm2(func.norm1(x))); });
}
void BM_Part_relu(benchmark::State& state) {  // two ReLUs
    fwd_bwd(state, [&](const on::Var& x) { return on::relu(on::relu(x)); });
}
BENCHMARK(BM_OdeFunc_step)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Part_conv)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Part_group_norm)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Part_relu)->Unit(benchmark::kMicrosecond);

}  // namespace

#include "bench_main.hpp"  // BENCH_THREADS=1 or 2 sets the thread count
