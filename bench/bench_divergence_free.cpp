// Divergence-free CNF dynamics (issue 20): cost of one maximum-likelihood training iteration
// (log-density of a batch of 512, backward, Adam step) with nn::DivergenceFree, whose declared
// zero trace lets the CNF skip the trace, against the same field with the exact trace forced
// through VJPs (one per dimension, each differentiating f = Σ Sₖ ∇Hₖ, itself a VJP of H).
//
//  * BM_divfree_cnf_iter/trace_skipped/dim/dtype: K = 1 potential, ConcatSquash layers 32-32
//    (make_divergence_free), T = 1, dopri5 at rtol = atol = 1e-5, adjoint gradients. Data: two
//    moons in the first two coordinates, N(0, 0.5²) in the others. trace_skipped = 0 is the
//    baseline of the ratio. Every iteration restarts from the initial parameters (restored
//    untimed) so both variants solve at the same NFE, reported as nfe_f / nfe_b.
//
// Run: BENCH_THREADS=1 build/bench/bench_divergence_free --benchmark_format=json (and BENCH_THREADS=2).
#include <benchmark/benchmark.h>

#include <cmath>
#include <numbers>

#include "odenet/nn.hpp"

namespace on = odenet;
namespace nn = odenet::nn;

namespace {

// Two interleaved half circles with Gaussian noise 0.1 (scikit-learn's make_moons) in the first
// two coordinates, as bench_planar draws them; N(0, 0.5²) in the rest.
on::Tensor<double> data(std::size_t n, std::size_t dim, on::Generator& gen) {
    on::Tensor<double> out = on::Tensor<double>::from_shape({n, dim});
    for (std::size_t i = 0; i < n; ++i) {
        const double t = std::numbers::pi * gen.uniform();
        const bool outer = i % 2 == 0;
        out(i, 0) = (outer ? std::cos(t) : 1 - std::cos(t)) + 0.1 * gen.normal();
        out(i, 1) = (outer ? std::sin(t) : 0.5 - std::sin(t)) + 0.1 * gen.normal();
        for (std::size_t j = 2; j < dim; ++j) out(i, j) = 0.5 * gen.normal();
    }
    return out;
}

on::Dtype dtype_arg(int64_t bits) { return bits == 32 ? on::Dtype::float32 : on::Dtype::float64; }

// The same field without DivergenceFreeDynamics: the CNF takes the exact trace by VJPs.
struct TraceByVjp : nn::TimeLayer {
    std::shared_ptr<nn::DivergenceFree> inner;
    explicit TraceByVjp(std::shared_ptr<nn::DivergenceFree> f) : inner(std::move(f)) { register_module("inner", inner); }
    on::Var forward(const on::Var& t, const on::Var& z) override { return inner->forward(t, z); }
};

void BM_divfree_cnf_iter(benchmark::State& state) {
    const bool skipped = state.range(0) == 1;
    const auto dim = std::size_t(state.range(1));
    const on::Dtype dtype = dtype_arg(state.range(2));
    on::manual_seed(0);
    on::Generator gen(1);
    auto f = nn::make_divergence_free(dim, {32, 32}, {.potentials = 1, .dtype = dtype});
    std::shared_ptr<nn::TimeLayer> dynamics = f;
    if (!skipped) dynamics = std::make_shared<TraceByVjp>(f);
    nn::CNF flow(dynamics, dim,
                 {.end_time = 1.0, .learn_end_time = false, .odeint = {.solver = {.rtol = 1e-5, .atol = 1e-5}}});
    on::optim::Adam opt(flow.parameters(), {.lr = 1e-2});
    std::vector<on::Value> initial;
    for (const on::Var& p : flow.parameters()) initial.push_back(p.value().clone());
    double nfe_f = 0, nfe_b = 0;
    for (auto _ : state) {
        state.PauseTiming();
        const on::Var x = on::to_dtype(on::Var(data(512, dim, gen)), dtype);
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
    state.SetLabel(skipped ? "trace skipped (declared 0)" : "exact trace by VJPs");
}
BENCHMARK(BM_divfree_cnf_iter)
    ->ArgNames({"trace_skipped", "dim", "dtype"})
    ->Args({0, 2, 64})->Args({1, 2, 64})->Args({0, 8, 64})->Args({1, 8, 64})->Args({0, 2, 32})->Args({1, 2, 32})
    ->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace

#include "bench_main.hpp"
