// Autodiff overhead: per-op recording + backward on 1-element tensors, a small MLP (FFJORD's
// toy dynamics size), and MLPs next to the bare GEMMs they need (odenet::gemm, which the engine
// runs, and OpenBLAS called directly), measured in the same run so the ratio shows the overhead.
//   build/bench/bench_autodiff --benchmark_format=json
#include <benchmark/benchmark.h>

#include "odenet/core/gemm.hpp"
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

// The GEMMs an MLP's forward and backward need, called on raw buffers: per layer
// y = x W; dW = xᵀ g; dx = g Wᵀ (not for the first layer, whose input needs no gradient).
// Arguments: batch, and 0 for odenet::gemm (what the engine runs: Note [Which GEMM kernel]) or 1 for
// OpenBLAS called directly.
void bare_gemms(benchmark::State& state, const std::vector<std::size_t>& sizes) {
    const std::size_t batch = state.range(0);
    const bool openblas = state.range(1) == 1;
    const auto product = [openblas](bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const float* a,
                                    std::size_t lda, const float* b, std::size_t ldb, float* c) {
        if (openblas) {
            blas_gemm(ta, tb, m, n, k, a, lda, b, ldb, 0.0f, c, n);
        } else {
            gemm(ta, tb, m, n, k, a, lda, b, ldb, 0.0f, c, n);
        }
    };
    std::vector<std::vector<float>> act, w, dw, grad;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        act.emplace_back(batch * sizes[i], 0.01f);
        grad.emplace_back(batch * sizes[i], 0.01f);
    }
    for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
        w.emplace_back(sizes[i] * sizes[i + 1], 0.01f);
        dw.emplace_back(sizes[i] * sizes[i + 1], 0.0f);
    }
    for (auto _ : state) {
        for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
            const std::size_t k = sizes[i], n = sizes[i + 1];
            product(false, false, batch, n, k, act[i].data(), k, w[i].data(), n, act[i + 1].data());
        }
        for (std::size_t i = sizes.size() - 1; i-- > 0;) {
            const std::size_t k = sizes[i], n = sizes[i + 1];
            product(true, false, k, n, batch, act[i].data(), k, grad[i + 1].data(), n, dw[i].data());
            if (i > 0) product(false, true, batch, k, n, grad[i + 1].data(), n, w[i].data(), n, grad[i].data());
        }
        benchmark::DoNotOptimize(dw[0].data());
    }
    state.SetLabel(openblas ? "openblas" : "odenet::gemm");
}
void BM_mlp_large_bare_gemm_f32(benchmark::State& state) { bare_gemms(state, kLarge); }
void BM_mlp_small_bare_gemm_f32(benchmark::State& state) { bare_gemms(state, {2, 64, 64, 64, 2}); }
BENCHMARK(BM_mlp_large_bare_gemm_f32)->Args({256, 0})->Args({256, 1})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_mlp_small_bare_gemm_f32)->Args({100, 0})->Args({100, 1})->Unit(benchmark::kMicrosecond);

}  // namespace

#include "bench_main.hpp"
