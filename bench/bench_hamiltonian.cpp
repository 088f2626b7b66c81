// Hamiltonian neural networks (issue 20, examples/hamiltonian): cost of one training iteration of
// the example's models at its sizes (hidden 200, two hidden layers; separable HNN 141 per
// network; the pendulum's 25 trajectories x 31 observations = 775 states per batch), each next
// to the MLP-dynamics baseline of the same widths in the same run.
//
//  * BM_hnn_derivative_iter/model: the example's training step (Greydanus et al. 2019): predict
//    [dq/dt, dp/dt] at the 775 observed states, MSE against the targets, backward, Adam step.
//    model 0 = HNN (the field is ∇H by the engine with create_graph, so backward differentiates
//    a gradient), 1 = separable HNN, 2 = MLP (the field is the network's output).
//  * BM_hnn_odeint_iter/model/grad: the same models trained through a solve: odeint from the 775
//    states over one observation spacing (t = 0 .. 0.1, dopri5 rtol = atol = 1e-6), MSE of the
//    end states against targets, backward, Adam. grad 0 = direct, 1 = adjoint, 2 = checkpointed.
//    Every iteration restarts from the initial parameters (restored untimed), so each variant
//    solves at a fixed NFE, reported as nfe_f / nfe_b.
//
// Run: BENCH_THREADS=1 build/bench/bench_hamiltonian --benchmark_format=json (and BENCH_THREADS=2).
#include <benchmark/benchmark.h>

#include "odenet/hamiltonian/models.hpp"
#include "odenet/hamiltonian/systems.hpp"
#include "odenet/nn.hpp"

namespace on = odenet;
namespace hm = odenet::hamiltonian;

namespace {

constexpr std::size_t kHidden = 200, kSeparableHidden = 141;

hm::Kind kind_arg(int64_t k) { return k == 0 ? hm::Kind::hnn : k == 1 ? hm::Kind::separable : hm::Kind::mlp; }

const hm::Dataset& pendulum_data() {
    static const hm::Dataset data = hm::make_dataset(hm::System::pendulum, {}, 0);  // plain tensors: no Var, no tape
    return data;
}

void BM_hnn_derivative_iter(benchmark::State& state) {
    const hm::Kind kind = kind_arg(state.range(0));
    on::manual_seed(0);
    auto model = hm::make_model(kind, kHidden, kSeparableHidden);
    on::optim::Adam opt(model->parameters(), {.lr = 1e-3});
    const on::Var x(pendulum_data().y), target(pendulum_data().dydt);
    for (auto _ : state) {
        on::Var loss = on::mean(on::square(model->forward(on::Var::scalar(0.0), x) - target));
        opt.zero_grad();
        on::backward(loss);
        opt.step();
    }
    state.SetLabel(hm::kind_name(kind));
    state.counters["params"] = double(model->parameter_count());
}
BENCHMARK(BM_hnn_derivative_iter)->ArgName("model")->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_hnn_odeint_iter(benchmark::State& state) {
    const hm::Kind kind = kind_arg(state.range(0));
    const on::ode::Grad grad = state.range(1) == 0 ? on::ode::Grad::direct : state.range(1) == 1 ? on::ode::Grad::adjoint : on::ode::Grad::checkpointed;
    on::manual_seed(0);
    auto model = hm::make_model(kind, kHidden, kSeparableHidden);
    on::optim::Adam opt(model->parameters(), {.lr = 1e-3});
    std::vector<on::Value> initial;
    for (const on::Var& p : model->parameters()) initial.push_back(p.value().clone());
    const on::Var x(pendulum_data().y), target(on::Tensor<double>(pendulum_data().y + 0.1 * pendulum_data().dydt));
    const on::Var ts(on::Tensor<double>{0.0, 0.1});
    double nfe_f = 0, nfe_b = 0;
    for (auto _ : state) {
        state.PauseTiming();
        std::vector<on::Var> params = model->parameters();
        for (std::size_t i = 0; i < params.size(); ++i) params[i].set_value(initial[i].clone());
        state.ResumeTiming();
        const auto sol = on::nn::odeint(model, x, ts, {.solver = {.rtol = 1e-6, .atol = 1e-6}, .grad = grad});
        on::Var loss = on::mean(on::square(on::slice(sol.ys, 0, 1, 2) - on::reshape(target, {1, x.shape()[0], 2})));
        opt.zero_grad();
        on::backward(loss);
        opt.step();
        nfe_f += double(sol.forward.nfe);
        nfe_b += double(sol.backward().nfe);
    }
    const double n = double(state.iterations());
    state.counters["nfe_f"] = nfe_f / n;
    state.counters["nfe_b"] = nfe_b / n;
    state.SetLabel(std::string(hm::kind_name(kind)) + ", " + on::ode::grad_name(grad));
}
BENCHMARK(BM_hnn_odeint_iter)
    ->ArgNames({"model", "grad"})
    ->Args({0, 0})->Args({2, 0})->Args({0, 1})->Args({2, 1})->Args({0, 2})->Args({2, 2})
    ->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace

#include "bench_main.hpp"
