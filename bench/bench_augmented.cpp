// Augmented Neural ODEs on the 2-D concentric task (examples/augmented; Dupont, Doucet and Teh
// 2019): the time of one training iteration (forward solve, Huber loss, backward pass, Adam step)
// of the example's model at its defaults (3000 points, batch 64, hidden 32, dopri5 at
// rtol = atol = 1e-3, adjoint gradients, float64), for the plain block (p = 0) and p = 5, with
// the forward and backward NFE as counters. NFE changes as the model trains, so every run does the
// same fixed number of iterations from the same start (the same seed, data and batches), and the
// time is read against the mean NFE of those iterations. Run:
//   BENCH_THREADS=1 build/bench/bench_augmented --benchmark_format=json
// Built with the examples (it links their library, odenet_augmented).
#include <benchmark/benchmark.h>

#include "odenet/augmented/concentric.hpp"
#include "odenet/augmented/model.hpp"
#include "odenet/odenet.hpp"

using namespace odenet;
namespace ag = odenet::augmented;

namespace {

void BM_augmented_iteration(benchmark::State& state) {
    const std::size_t p = std::size_t(state.range(0)), n = 3000, batch = 64;
    const ag::Concentric data = ag::make_concentric({.count = n}, 0);
    manual_seed(0);
    ag::ModelOptions mo{.p = p};
    mo.odeint = {.solver = {.rtol = 1e-3, .atol = 1e-3}, .grad = ode::Grad::adjoint};
    ag::Classifier model(mo);
    optim::Adam opt(model.parameters(), {.lr = 1e-3});
    Generator gen(1);
    double nfe_f = 0, nfe_b = 0;
    for (auto _ : state) {
        const ag::Batch b = ag::gather(data, choice(n, batch, false, gen));
        Var loss = ag::huber_loss(model.forward(Var(b.x)), Var(b.y));
        opt.zero_grad();
        backward(loss);
        opt.step();
        nfe_f += double(model.block().last_nfe()), nfe_b += double(model.block().last_backward_nfe());
    }
    state.counters["nfe_forward"] = benchmark::Counter(nfe_f, benchmark::Counter::kAvgIterations);
    state.counters["nfe_backward"] = benchmark::Counter(nfe_b, benchmark::Counter::kAvgIterations);
    state.SetLabel("p = " + std::to_string(p) + ", adjoint");
}
BENCHMARK(BM_augmented_iteration)->Arg(0)->Arg(5)->ArgName("p")->Unit(benchmark::kMillisecond)->Iterations(200);

}  // namespace

#include "bench_main.hpp"
