// The neural CDE of issue 20 (examples/cde): cost of one training iteration (logits of a batch,
// cross-entropy, backward, Adam step) on the example's spirals, batch 32 of 100 grid points with
// 30% dropped, at the example's sizes and solver (dopri5, rtol 1e-3, atol 1e-5, adjoint).
//
//  * BM_cde_iter/model/knots/dtype: model 0 = gru_dt (the baseline of the ratios: no ODE), 1 =
//    cde, 2 = ode_rnn. knots = 1 gives the CDE's spline knots to the solver as jump times (the
//    default), 0 lets it step across them (the cost of not telling the controller). Parameters
//    are restored (untimed) before every iteration so that every variant solves the same
//    problem; NFE per iteration is reported as nfe_f / nfe_b.
//
// Run: BENCH_THREADS=1 build/bench/bench_cde --benchmark_format=json (and BENCH_THREADS=2).
#include <benchmark/benchmark.h>

#include "odenet/cde/models.hpp"
#include "odenet/cde/spirals.hpp"
#include "odenet/nn.hpp"

namespace on = odenet;
namespace cd = odenet::cde;

namespace {

void BM_cde_iter(benchmark::State& state) {
    static const char* kinds[] = {"gru_dt", "cde", "ode_rnn"};
    const std::string kind = kinds[state.range(0)];
    const bool knots = state.range(1) == 1;
    const on::Dtype dtype = state.range(2) == 32 ? on::Dtype::float32 : on::Dtype::float64;
    const cd::Spirals batch = cd::make_spirals({.count = 32}, 0);
    on::manual_seed(0);
    cd::ModelOptions mo{.kind = kind, .dtype = dtype, .stop_at_knots = knots};
    mo.odeint = {.solver = {.rtol = 1e-3, .atol = 1e-5}};
    auto model = cd::make_classifier(mo);
    on::optim::Adam opt(model->parameters(), {.lr = 3e-3});
    std::vector<on::Value> initial;
    for (const on::Var& p : model->parameters()) initial.push_back(p.value().clone());
    double nfe_f = 0, nfe_b = 0;
    for (auto _ : state) {
        state.PauseTiming();
        std::vector<on::Var> params = model->parameters();
        for (std::size_t i = 0; i < params.size(); ++i) params[i].set_value(initial[i].clone());
        state.ResumeTiming();
        on::Var loss = on::nn::functional::cross_entropy(model->logits(batch), batch.labels);
        opt.zero_grad();
        on::backward(loss);
        opt.step();
        nfe_f += double(model->forward_stats().nfe);
        nfe_b += double(model->backward_stats().nfe);
    }
    const double n = double(state.iterations());
    state.counters["nfe_f"] = nfe_f / n;
    state.counters["nfe_b"] = nfe_b / n;
    state.SetLabel(kind + (kind == "cde" ? (knots ? ", knots as jump times" : ", stepping across knots") : ""));
}
BENCHMARK(BM_cde_iter)
    ->ArgNames({"model", "knots", "dtype"})
    ->Args({0, 1, 64})->Args({1, 1, 64})->Args({1, 0, 64})->Args({2, 1, 64})
    ->Args({0, 1, 32})->Args({1, 1, 32})->Args({2, 1, 32})
    ->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace

#include "bench_main.hpp"
