// The latent ODE of the Neural ODE paper's section 5 (examples/latent_ode): time per training
// iteration on 1000 spirals, with forward and backward NFE, in two configurations:
//   BM_torchdiffeq_config   torchdiffeq's examples/latent_ode.py exactly, for the ratio against
//                           scripts/reference/latent_ode_pytorch.py: float32, all 100 points of
//                           every spiral, recognition RNN (tanh, 25) over observations only,
//                           dynamics 4-20-20-4 (ELU), decoder 4-20-2 (ReLU), dopri5 at
//                           torchdiffeq's default rtol 1e-7, atol 1e-9, Adam
//   BM_table2_iteration     the example's model at Table 2's n = 30 irregular observations per
//                           spiral (float64, rtol 1e-5, atol 1e-6, as the example's defaults)
// mode: 0 direct, 1 adjoint, 2 checkpointed. Run:
//   BENCH_THREADS=1 build/bench/bench_latent_ode --benchmark_format=json   (and BENCH_THREADS=2)
// Built with the examples (it links their library, odenet_latent_ode).
#include <benchmark/benchmark.h>

#include "odenet/latent_ode/models.hpp"
#include "odenet/latent_ode/spirals.hpp"
#include "odenet/odenet.hpp"

using namespace odenet;
namespace lo = odenet::latent_ode;

namespace {

ode::Grad mode_of(std::int64_t i) { return static_cast<ode::Grad>(i); }


// torchdiffeq's LatentODEfunc, RecognitionRNN and Decoder, written from its description.
struct TorchdiffeqModel : nn::Module {
    nn::LinearOptions f32{.dtype = Dtype::float32};
    nn::Linear i2h{2 + 25, 25, f32}, h2o{25, 8, f32};
    std::shared_ptr<nn::Sequential> func = std::make_shared<nn::Sequential>(
        std::make_shared<nn::Linear>(4, 20, f32), std::make_shared<nn::ELU>(), std::make_shared<nn::Linear>(20, 20, f32),
        std::make_shared<nn::ELU>(), std::make_shared<nn::Linear>(20, 4, f32));
    nn::Linear dec1{4, 20, f32}, dec2{20, 2, f32};
    TorchdiffeqModel() {
        register_module("i2h", i2h);
        register_module("h2o", h2o);
        register_module("func", func);
        register_module("dec1", dec1);
        register_module("dec2", dec2);
    }
};

void BM_torchdiffeq_config(benchmark::State& state) {
    manual_seed(0);
    const ode::Grad mode = mode_of(state.range(0));
    const lo::Spirals s = lo::make_spirals({.count = 1000}, 0);
    const std::size_t n = 100, batch = 1000;
    // (batch, n, 2) observations and (n,) times: the first 100 points of each spiral.
    const Var x = to_dtype(slice(Var(s.noisy), 1, 0, n), Dtype::float32);
    Tensor<double> times = Tensor<double>::from_shape({n});
    std::copy(s.times.begin(), s.times.begin() + long(n), times.begin());
    const Var samp_ts(times);
    TorchdiffeqModel m;
    optim::Adam opt(m.parameters(), {.lr = 0.01});
    Generator gen(1);
    const ode::OdeintOptions options{.grad = mode};  // torchdiffeq's defaults: dopri5, rtol 1e-7, atol 1e-9
    double nfe_f = 0, nfe_b = 0;
    for (auto _ : state) {
        Var h = zeros({batch, 25}, Dtype::float32);
        for (std::size_t t = n; t-- > 0;) h = tanh(m.i2h(concat({reshape(slice(x, 1, t, t + 1), {batch, 2}), h}, 1)));
        const Var out = m.h2o(h);
        const nn::Normal q(slice(out, 1, 0, 4), slice(out, 1, 4, 8));
        const auto sol = nn::odeint(m.func, q.rsample(gen), samp_ts, options);
        const Var pred_x = m.dec2(relu(m.dec1(permute(sol.ys, {1, 0, 2}))));
        const Var log_px = nn::gaussian_log_likelihood(x, pred_x, 0.3);
        const Var kl = sum(nn::kl_divergence(q, nn::Normal::standard(q.shape(), Dtype::float32)), {1});
        Var loss = mean(kl - log_px);
        opt.zero_grad();
        backward(loss);
        opt.step();
        nfe_f += double(sol.forward.nfe), nfe_b += double(sol.backward().nfe);
    }
    // Means over the iterations: NFE changes as the model trains, so the time per iteration is
    // read against the mean NFE of the same fixed number of iterations from the same start.
    state.counters["nfe_forward"] = benchmark::Counter(nfe_f, benchmark::Counter::kAvgIterations);
    state.counters["nfe_backward"] = benchmark::Counter(nfe_b, benchmark::Counter::kAvgIterations);
    state.SetLabel(ode::grad_name(mode));
}
BENCHMARK(BM_torchdiffeq_config)->Arg(0)->Arg(1)->Arg(2)->ArgName("mode")->Unit(benchmark::kMillisecond)->Iterations(40);

void BM_table2_iteration(benchmark::State& state) {
    manual_seed(0);
    const ode::Grad mode = mode_of(state.range(0));
    const lo::Spirals s = lo::make_spirals({.count = 1000}, 0);
    Generator pick(2);
    const auto at = lo::subsample(1000, 100, 30, pick);
    const lo::Observations obs = lo::observe(s.noisy, s.times, at, lo::first_rows(1000), Dtype::float64);
    lo::ModelOptions mo{.kind = state.range(1) == 0 ? "latent_ode" : "ode_rnn"};
    mo.odeint = {.solver = {.rtol = 1e-5, .atol = 1e-6}, .grad = mode};
    auto model = lo::make_model(mo);
    optim::Adam opt(model->parameters(), {.lr = 0.01});
    Generator gen(1);
    double nfe_f = 0, nfe_b = 0;
    for (auto _ : state) {
        Var loss = model->loss(obs, gen);
        opt.zero_grad();
        backward(loss);
        opt.step();
        nfe_f += model->nfe_forward(), nfe_b += model->nfe_backward();
    }
    state.counters["nfe_forward"] = benchmark::Counter(nfe_f, benchmark::Counter::kAvgIterations);
    state.counters["nfe_backward"] = benchmark::Counter(nfe_b, benchmark::Counter::kAvgIterations);
    state.SetLabel(std::string(mo.kind) + ", " + ode::grad_name(mode));
}
BENCHMARK(BM_table2_iteration)
    ->ArgsProduct({{0, 1, 2}, {0, 1}})
    ->ArgNames({"mode", "ode_rnn"})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(20);

}  // namespace

#include "bench_main.hpp"
