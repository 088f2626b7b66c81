// The ODE layer's gradient modes: time per training step with forward/backward NFE, and peak
// memory as the number of solver steps grows 10x (Grad::adjoint must stay flat).
//   build/bench/bench_odeint --benchmark_format=json
// Peak memory is measured in a forked child per configuration: the child's peak resident set
// (VmHWM) minus its resident set when it starts, so each figure is that step's own high-water
// mark, unaffected by what earlier benchmarks allocated.
#include <benchmark/benchmark.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>

#include "odenet/odenet.hpp"

using namespace odenet;

namespace {

// f(t, z): ConcatSquash MLP 2 -> 64 -> 64 -> 2 with tanh, FFJORD's toy dynamics shape.
struct Dynamics : nn::TimeLayer {
    nn::ConcatSquashLinear l1{2, 64}, l2{64, 64}, l3{64, 2};
    Dynamics() {
        register_module("l1", l1);
        register_module("l2", l2);
        register_module("l3", l3);
    }
    Var forward(const Var& t, const Var& z) override { return l3(t, tanh(l2(t, tanh(l1(t, z))))); }
};

ode::Grad mode_of(std::int64_t i) { return static_cast<ode::Grad>(i); }

struct Step {
    std::shared_ptr<Dynamics> f = std::make_shared<Dynamics>();
    nn::ODEBlock block;
    optim::Adam opt;
    Var x;
    Step(ode::Grad mode, ode::Options solver, std::size_t batch)
        : block(f, {.t1 = 1.0, .odeint = {.solver = solver, .grad = mode}}), opt(f->parameters(), {.lr = 1e-3}) {
        f->to(Dtype::float32);  // training precision
        x = Var(randn<float>({batch, 2}));
    }
    void run() {
        opt.zero_grad();
        Var y = block(x);
        backward(mean(y * y));
        opt.step();
    }
};

long status_kib(const char* field) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::strlen(field)));
    return -1;
}

// Peak memory of one training step with a fixed-step rk4 solve of `steps` steps.
void BM_peak_memory(benchmark::State& state) {
    const ode::Grad mode = mode_of(state.range(0));
    const auto steps = static_cast<double>(state.range(1));
    double peak_mib = 0;
    for (auto _ : state) {
        int fds[2];
        if (pipe(fds) != 0) state.SkipWithError("pipe failed");
        const pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            set_num_threads(1);
            manual_seed(0);
            Step step(mode, {.method = ode::Method::rk4, .step_size = 1.0 / steps}, 512);
            const long before = status_kib("VmRSS:");
            step.run();
            const long delta = status_kib("VmHWM:") - before;
            if (write(fds[1], &delta, sizeof delta) != sizeof delta) _exit(1);
            _exit(0);
        }
        close(fds[1]);
        long delta = 0;
        if (read(fds[0], &delta, sizeof delta) != sizeof delta) state.SkipWithError("child failed");
        close(fds[0]);
        waitpid(pid, nullptr, 0);
        peak_mib = double(delta) / 1024.0;
    }
    state.counters["peak_MiB"] = peak_mib;
    state.counters["steps"] = steps;
    state.SetLabel(ode::grad_name(mode));
}
BENCHMARK(BM_peak_memory)
    ->ArgsProduct({{0, 1, 2}, {10, 100}})
    ->ArgNames({"mode", "steps"})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

// Registered after the memory benchmark: forked children inherit the parent's heap, so the
// memory figures are taken while the parent has allocated nothing big yet.
void BM_train_step(benchmark::State& state) {
    manual_seed(0);
    const ode::Grad mode = mode_of(state.range(0));
    Step step(mode, {.method = ode::Method::dopri5, .rtol = 1e-5, .atol = 1e-5}, 512);
    for (auto _ : state) step.run();
    state.counters["nfe_forward"] = double(step.block.last_nfe());
    state.counters["nfe_backward"] = double(step.block.last_backward_nfe());
    state.SetLabel(ode::grad_name(mode));
}
BENCHMARK(BM_train_step)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->ArgName("mode");

}  // namespace

#include "bench_main.hpp"
