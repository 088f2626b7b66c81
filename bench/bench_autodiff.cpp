// Autodiff overhead: per-op recording + backward on 1-element tensors, a small MLP (FFJORD's
// toy dynamics size), and a large MLP next to the bare OpenBLAS GEMMs it needs, measured in
// the same run so the ratio shows the engine's overhead.
//   build/bench/bench_autodiff --benchmark_format=json
#include <benchmark/benchmark.h>

#include <cblas.h>

#include "odenet/odenet.hpp"

using namespace odenet;

namespace {

// Record one op on 1-element tensors and run backward through it.
void BM_op_record_backward(benchmark::State& state) {
    Var x(Tensor<float>{0.5f}, true);
    Var y(Tensor<float>{1.5f}, true);
    for (auto _ : state) {
        Var z = x * y;
        backward(z);
        benchmark::DoNotOptimize(x.grad());
    }
    state.SetLabel("x*y + backward, 1 element");
}
BENCHMARK(BM_op_record_backward);

// Only recording (no backward), for the split.
void BM_op_record_only(benchmark::State& state) {
    Var x(Tensor<float>{0.5f}, true);
    Var y(Tensor<float>{1.5f}, true);
    for (auto _ : state) {
        Var z = x * y;
        benchmark::DoNotOptimize(z);
    }
}
BENCHMARK(BM_op_record_only);

// Same op with nothing recorded: the bare cost of a Var op on a 1-element tensor.
void BM_op_no_grad(benchmark::State& state) {
    Var x(Tensor<float>{0.5f});
    Var y(Tensor<float>{1.5f});
    for (auto _ : state) {
        Var z = x * y;
        benchmark::DoNotOptimize(z);
    }
}
BENCHMARK(BM_op_no_grad);

template <class T>
struct Mlp {
    std::vector<Var> weights, biases;
    Mlp(const std::vector<std::size_t>& sizes, Generator& gen) {
        for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
            const double bound = 1.0 / std::sqrt(double(sizes[i]));
            weights.push_back(Var(uniform<T>({sizes[i], sizes[i + 1]}, -bound, bound, gen), true));
            biases.push_back(Var(uniform<T>({sizes[i + 1]}, -bound, bound, gen), true));
        }
    }
    Var forward(Var h) const {
        for (std::size_t i = 0; i < weights.size(); ++i) {
            h = matmul(h, weights[i]) + biases[i];
            if (i + 1 < weights.size()) h = tanh(h);
        }
        return h;
    }
    void zero_grad() {
        for (auto& w : weights) w.zero_grad();
        for (auto& b : biases) b.zero_grad();
    }
};

template <class T>
void mlp_step(benchmark::State& state, const std::vector<std::size_t>& sizes) {
    Generator gen(0);
    Mlp<T> mlp(sizes, gen);
    const std::size_t batch = state.range(0);
    Var x(randn<T>({batch, sizes.front()}, gen));
    for (auto _ : state) {
        mlp.zero_grad();
        Var loss = sum(mlp.forward(x));
        backward(loss);
        benchmark::DoNotOptimize(mlp.weights[0].grad());
    }
    state.counters["batch"] = double(batch);
}

void BM_mlp_small_f32(benchmark::State& state) { mlp_step<float>(state, {2, 64, 64, 64, 2}); }
void BM_mlp_small_f64(benchmark::State& state) { mlp_step<double>(state, {2, 64, 64, 64, 2}); }
BENCHMARK(BM_mlp_small_f32)->Arg(100)->Arg(512)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_mlp_small_f64)->Arg(100)->Arg(512)->Unit(benchmark::kMicrosecond);

const std::vector<std::size_t> kLarge = {784, 1024, 1024, 10};

void BM_mlp_large_f32(benchmark::State& state) { mlp_step<float>(state, kLarge); }
BENCHMARK(BM_mlp_large_f32)->Arg(256)->Unit(benchmark::kMillisecond);

// The GEMMs the large MLP's forward and backward need, called on raw buffers: per layer
// y = x W; dW = xᵀ g; dx = g Wᵀ (not for the first layer, whose input needs no gradient).
void BM_mlp_large_bare_gemm_f32(benchmark::State& state) {
    const int batch = int(state.range(0));
    std::vector<std::vector<float>> act, w, dw, grad;
    for (std::size_t i = 0; i < kLarge.size(); ++i) {
        act.emplace_back(batch * kLarge[i], 0.01f);
        grad.emplace_back(batch * kLarge[i], 0.01f);
    }
    for (std::size_t i = 0; i + 1 < kLarge.size(); ++i) {
        w.emplace_back(kLarge[i] * kLarge[i + 1], 0.01f);
        dw.emplace_back(kLarge[i] * kLarge[i + 1], 0.0f);
    }
    for (auto _ : state) {
        for (std::size_t i = 0; i + 1 < kLarge.size(); ++i) {
            const int k = int(kLarge[i]), n = int(kLarge[i + 1]);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, n, k, 1.0f, act[i].data(), k, w[i].data(), n,
                        0.0f, act[i + 1].data(), n);
        }
        for (std::size_t i = kLarge.size() - 1; i-- > 0;) {
            const int k = int(kLarge[i]), n = int(kLarge[i + 1]);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, n, batch, 1.0f, act[i].data(), k, grad[i + 1].data(),
                        n, 0.0f, dw[i].data(), n);
            if (i > 0)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, k, n, 1.0f, grad[i + 1].data(), n,
                            w[i].data(), n, 0.0f, grad[i].data(), k);
        }
        benchmark::DoNotOptimize(dw[0].data());
    }
}
BENCHMARK(BM_mlp_large_bare_gemm_f32)->Arg(256)->Unit(benchmark::kMillisecond);

}  // namespace

#include "bench_main.hpp"
