// CNF (FFJORD) training cost at FFJORD's toy configuration: ConcatSquash dynamics 2-64-64-64-2
// with tanh, dopri5 at rtol = atol = 1e-5, adjoint gradients, Adam (lr 1e-3, weight decay 1e-5),
// learnable T from 0.5, on 8gaussians.
//
//  * BM_CNF_train_iter/batch/trace/dtype/fresh: one training iteration (log_prob, backward, Adam
//    step); fresh = 1 restarts from the initial parameters every iteration (a new model's NFE).
//    trace 0 = exact (FFJORD's default in 2-D), 1 = Hutchinson (Rademacher, one probe); dtype
//    32 or 64. Counters: ms_per_iter, nfe_f and nfe_b (per iteration), and the time per
//    function evaluation if the whole iteration were evaluations (ms_per_eval).
//  * BM_CNF_eval_forward / BM_CNF_eval_adjoint: one evaluation of the augmented dynamics as the
//    adjoint's forward solve calls it (no recording) and as its backward solve does (recorded,
//    then one VJP with respect to the state and every parameter: second order through the trace).
//
// Reference (issue 7): PyTorch 1.13 with FFJORD's code, 40 ms per iteration at NFE 14/14 with
// the exact trace (0.59 ms per forward and 1.21 ms per adjoint evaluation), 31 ms with
// Hutchinson. Target: <= 4 ms per iteration at the same NFE.
//
// Run: BENCH_THREADS=1 build/bench/bench_cnf --benchmark_format=json (and BENCH_THREADS=2).
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "odenet/core/parallel.hpp"
#include "odenet/nn.hpp"

namespace on = odenet;
namespace nn = odenet::nn;

namespace {

// 8gaussians (FFJORD lib/toy_data.py): centres at scale 4 on the axes and diagonals / sqrt 2,
// noise 0.5, then divided by 1.414. Drawn here so the benchmark does not need the examples.
on::Tensor<double> eight_gaussians(std::size_t n, on::Generator& gen) {
    const double s = 4.0, r = 1.0 / std::sqrt(2.0);
    const double cx[8] = {1, -1, 0, 0, r, r, -r, -r}, cy[8] = {0, 0, 1, -1, r, -r, r, -r};
    on::Tensor<double> noise = on::randn<double>({n, 2}, gen);
    on::Tensor<double> out = on::Tensor<double>::from_shape({n, 2});
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t k = std::size_t(gen.uniform() * 8) % 8;
        out(i, 0) = (0.5 * noise(i, 0) + s * cx[k]) / 1.414;
        out(i, 1) = (0.5 * noise(i, 1) + s * cy[k]) / 1.414;
    }
    return out;
}

on::Dtype dtype_arg(int64_t bits) { return bits == 32 ? on::Dtype::float32 : on::Dtype::float64; }

nn::CNFOptions toy_options(nn::Trace trace) {
    return {.end_time = 0.5,
            .learn_end_time = true,
            .trace = trace,
            .odeint = {.solver = {.method = on::ode::Method::dopri5, .rtol = 1e-5, .atol = 1e-5},
                       .grad = on::ode::Grad::adjoint}};
}

void BM_CNF_train_iter(benchmark::State& state) {
    const auto batch = std::size_t(state.range(0));
    const nn::Trace trace = state.range(1) == 0 ? nn::Trace::exact : nn::Trace::hutchinson;
    const on::Dtype dtype = dtype_arg(state.range(2));
    on::manual_seed(0);
    on::Generator gen(1);
    auto f = nn::make_toy_dynamics(2, {64, 64, 64}, nn::Activation::tanh, dtype);
    nn::CNF flow(f, 2, toy_options(trace));
    on::optim::Adam opt(flow.parameters(), {.lr = 1e-3, .weight_decay = 1e-5});
    // fresh = 1: every iteration starts from the initial parameters (restored untimed), so the
    // NFE stays at a new model's (FFJORD's reference figures are at NFE 14 / 14) instead of
    // growing as the flow trains.
    const bool fresh = state.range(3) == 1;
    std::vector<on::Value> initial;
    for (const on::Var& p : flow.parameters()) initial.push_back(p.value().clone());
    double nfe_f = 0, nfe_b = 0;
    for (auto _ : state) {
        state.PauseTiming();
        const on::Var x = on::to_dtype(on::Var(eight_gaussians(batch, gen)), dtype);
        if (fresh) {
            std::vector<on::Var> params = flow.parameters();
            for (std::size_t i = 0; i < params.size(); ++i) params[i].set_value(initial[i].clone());
        }
        state.ResumeTiming();
        on::Var loss = -on::mean(flow.log_prob(x));
        opt.zero_grad();
        on::backward(loss);
        opt.step();
        nfe_f += double(flow.last_nfe());
        nfe_b += double(flow.last_backward_nfe());
    }
    const double n = double(state.iterations());
    state.counters["nfe_f"] = nfe_f / n;
    state.counters["nfe_b"] = nfe_b / n;
    state.counters["ms_per_iter"] = benchmark::Counter(1e-3 * n, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_CNF_train_iter)
    ->ArgNames({"batch", "trace", "dtype", "fresh"})
    ->Args({100, 0, 32, 0})->Args({100, 1, 32, 0})->Args({512, 0, 32, 0})->Args({512, 1, 32, 0})
    ->Args({100, 0, 64, 0})->Args({100, 1, 64, 0})->Args({100, 0, 32, 1})->Args({100, 1, 32, 1})
    ->Unit(benchmark::kMillisecond)->MinTime(3.0);

// One right-hand side evaluation. adjoint = 0: as the adjoint's forward solve calls it (under
// NoGradGuard; the trace's VJPs run in a nested scope). adjoint = 1: as the backward solve does:
// recorded, then one VJP with respect to [state, parameters] (second order through the trace).
void BM_CNF_eval(benchmark::State& state) {
    const auto batch = std::size_t(state.range(0));
    const nn::Trace trace = state.range(1) == 0 ? nn::Trace::exact : nn::Trace::hutchinson;
    const bool adjoint = state.range(2) != 0;
    const on::Dtype dtype = dtype_arg(state.range(3));
    on::manual_seed(0);
    on::Generator gen(1);
    auto f = nn::make_toy_dynamics(2, {64, 64, 64}, nn::Activation::tanh, dtype);
    const on::Var s0 = on::to_dtype(on::concat({on::Var(eight_gaussians(batch, gen)), on::zeros({batch, 1})}, 1), dtype);
    const std::vector<on::Var> noise{on::to_dtype(on::Var(on::rademacher<double>({batch, 2})), dtype)};
    const std::vector<on::Var> params = f->parameters();
    const on::Var t = on::Var::scalar(0.25, dtype);
    const on::Var a = on::ones(s0.shape(), dtype);
    for (auto _ : state) {
        if (!adjoint) {
            on::NoGradGuard no_grad;
            benchmark::DoNotOptimize(nn::cnf_augmented_dynamics(*f, t, s0, 2, trace, noise, false, false).impl());
        } else {
            on::EnableGradGuard recording;
            on::Var s(s0.value(), true);
            on::Var out = nn::cnf_augmented_dynamics(*f, t, s, 2, trace, noise, false, false);
            std::vector<on::Var> inputs{s};
            inputs.insert(inputs.end(), params.begin(), params.end());
            benchmark::DoNotOptimize(on::grad({out}, inputs, {a}, {.allow_unused = true}).size());
        }
    }
}
BENCHMARK(BM_CNF_eval)
    ->ArgNames({"batch", "trace", "adjoint", "dtype"})
    ->Args({100, 0, 0, 32})->Args({100, 0, 1, 32})->Args({100, 1, 0, 32})->Args({100, 1, 1, 32})
    ->Args({512, 0, 0, 32})->Args({512, 0, 1, 32})
    ->Unit(benchmark::kMicrosecond);

}  // namespace

#include "bench_main.hpp"
