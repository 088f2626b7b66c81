// The planar flows of issue 19 (examples/planar_flows): cost of one maximum-likelihood training
// iteration (log-density of a batch, backward, Adam step) on two moons, batch 512 (the sample
// count of torchdiffeq's planar-CNF example).
//
//  * BM_planar_cnf_iter/trace_closed/dtype: the planar CNF of Chen et al. (2018, section 4.1),
//    M = 32 gated units from a hypernetwork of width 32, T = 1, dopri5 at rtol = atol = 1e-5,
//    adjoint gradients. trace_closed = 1 uses HyperPlanar's closed-form trace; 0 the same field
//    through the exact trace by VJPs (one per dimension): the baseline of the ratio. Every
//    iteration restarts from the initial parameters (restored untimed) so both variants solve
//    at the same NFE, reported as nfe_f / nfe_b.
//  * BM_planar_nf_iter/dtype: the planar NF baseline (Rezende & Mohamed 2015), K = 32 layers.
//
// Run: BENCH_THREADS=1 build/bench/bench_planar --benchmark_format=json (and BENCH_THREADS=2).
#include <benchmark/benchmark.h>

#include <cmath>
#include <numbers>

#include "odenet/nn.hpp"

namespace on = odenet;
namespace nn = odenet::nn;

namespace {

// Two interleaved half circles with Gaussian noise 0.1 (scikit-learn's make_moons), drawn here
// so the benchmark does not need the examples.
on::Tensor<double> moons(std::size_t n, on::Generator& gen) {
    on::Tensor<double> out = on::Tensor<double>::from_shape({n, 2});
    for (std::size_t i = 0; i < n; ++i) {
        const double t = std::numbers::pi * gen.uniform();
        const bool outer = i % 2 == 0;
        out(i, 0) = (outer ? std::cos(t) : 1 - std::cos(t)) + 0.1 * gen.normal();
        out(i, 1) = (outer ? std::sin(t) : 0.5 - std::sin(t)) + 0.1 * gen.normal();
    }
    return out;
}

on::Dtype dtype_arg(int64_t bits) { return bits == 32 ? on::Dtype::float32 : on::Dtype::float64; }

// The same field without DynamicsWithTrace: the CNF falls back to one VJP per dimension.
struct TraceByVjp : nn::TimeLayer {
    std::shared_ptr<nn::HyperPlanar> inner;
    explicit TraceByVjp(std::shared_ptr<nn::HyperPlanar> f) : inner(std::move(f)) { register_module("inner", inner); }
    on::Var forward(const on::Var& t, const on::Var& z) override { return inner->forward(t, z); }
};

void BM_planar_cnf_iter(benchmark::State& state) {
    const bool closed = state.range(0) == 1;
    const on::Dtype dtype = dtype_arg(state.range(1));
    on::manual_seed(0);
    on::Generator gen(1);
    auto f = std::make_shared<nn::HyperPlanar>(2, nn::HyperPlanarOptions{.width = 32, .hidden = 32, .dtype = dtype});
    std::shared_ptr<nn::TimeLayer> dynamics = f;
    if (!closed) dynamics = std::make_shared<TraceByVjp>(f);
    nn::CNF flow(dynamics, 2,
                 {.end_time = 1.0, .learn_end_time = false, .odeint = {.solver = {.rtol = 1e-5, .atol = 1e-5}}});
    on::optim::Adam opt(flow.parameters(), {.lr = 1e-2});
    std::vector<on::Value> initial;
    for (const on::Var& p : flow.parameters()) initial.push_back(p.value().clone());
    double nfe_f = 0, nfe_b = 0;
    for (auto _ : state) {
        state.PauseTiming();
        const on::Var x = on::to_dtype(on::Var(moons(512, gen)), dtype);
        std::vector<on::Var> params = flow.parameters();
        for (std::size_t i = 0; i < params.size(); ++i) params[i].set_value(initial[i].clone());
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
    state.SetLabel(closed ? "closed-form trace" : "trace by VJPs");
}
BENCHMARK(BM_planar_cnf_iter)
    ->ArgNames({"trace_closed", "dtype"})
    ->Args({0, 64})->Args({1, 64})->Args({0, 32})->Args({1, 32})
    ->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_planar_nf_iter(benchmark::State& state) {
    const on::Dtype dtype = dtype_arg(state.range(0));
    on::manual_seed(0);
    on::Generator gen(1);
    nn::PlanarFlow flow(2, 32, dtype);
    on::optim::Adam opt(flow.parameters(), {.lr = 1e-2});
    for (auto _ : state) {
        state.PauseTiming();
        const on::Var x = on::to_dtype(on::Var(moons(512, gen)), dtype);
        state.ResumeTiming();
        const auto [z, log_det] = flow.forward(x);
        on::Var loss = -on::mean(on::gaussian_log_density(z) + log_det);
        opt.zero_grad();
        on::backward(loss);
        opt.step();
    }
}
BENCHMARK(BM_planar_nf_iter)->ArgName("dtype")->Arg(64)->Arg(32)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace

#include "bench_main.hpp"
