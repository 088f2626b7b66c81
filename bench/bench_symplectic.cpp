// Symplectic steppers (leapfrog, yoshida4) against dopri5, time per step on the same separable
// Hamiltonian, the pendulum H = p^2/2 - cos q. Each benchmark iteration runs all three solves,
// so the ratios leapfrog/dopri5 and yoshida4/dopri5 come from one run on one machine state.
// A step of leapfrog costs 2 evaluations of f, yoshida4 6, dopri5 6 (FSAL) plus its error
// control, so per step the expected ratios are about 1/3 and 1 where f dominates (the batch)
// and lower for yoshida4 where the solver's overhead dominates (one pendulum). These are costs
// per step only: the methods differ in accuracy per step and in what they conserve.
// Run: BENCH_THREADS=1 bench_symplectic --benchmark_min_time=0.1s
#include <benchmark/benchmark.h>

#include <array>
#include <cmath>
#include <ctime>

#include "bench_main.hpp"
#include "odenet/ode.hpp"

namespace ode = odenet::ode;

namespace {

double thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return 1e9 * static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec);
}

// One pendulum as (q, p): dq/dt = p, dp/dt = -sin q.
void pendulum(double, const std::array<double, 2>& y, std::array<double, 2>& dy) {
    dy[0] = y[1];
    dy[1] = -std::sin(y[0]);
}

// 4096 pendulums, a (2, 4096) tensor: row 0 the angles, row 1 the momenta.
constexpr std::size_t kBatch = 4096;
odenet::Tensor<double> pendulum_batch(double, const odenet::Tensor<double>& y) {
    odenet::Tensor<double> dy = odenet::Tensor<double>::from_shape({2, kBatch});
    const double* q = y.data();
    const double* p = y.data() + kBatch;
    for (std::size_t i = 0; i < kBatch; ++i) {
        dy.data()[i] = p[i];
        dy.data()[kBatch + i] = -std::sin(q[i]);
    }
    return dy;
}

struct PerStep {
    double ns = 0.0, steps = 0.0;
    template <class Solve>
    void time(Solve&& solve) {
        const double t0 = thread_cpu_ns();
        const auto stats = solve();
        ns += thread_cpu_ns() - t0;
        steps += static_cast<double>(stats.accepted + stats.rejected);
    }
    double ns_per_step() const { return ns / steps; }
};

template <class State, class F>
void run_three(benchmark::State& state, F f, const State& y0, double t_end) {
    PerStep lf, y4, dp;
    const ode::Options fixed_lf{.method = ode::Method::leapfrog, .max_steps = 1000000, .step_size = 0.01};
    const ode::Options fixed_y4{.method = ode::Method::yoshida4, .max_steps = 1000000, .step_size = 0.01};
    const ode::Options adaptive{.method = ode::Method::dopri5, .rtol = 1e-8, .atol = 1e-8, .max_steps = 1000000};
    for (auto _ : state) {
        lf.time([&] { return ode::solve(f, y0, {0.0, t_end}, fixed_lf).stats; });
        y4.time([&] { return ode::solve(f, y0, {0.0, t_end}, fixed_y4).stats; });
        dp.time([&] { return ode::solve(f, y0, {0.0, t_end}, adaptive).stats; });
    }
    state.counters["leapfrog_ns_per_step"] = lf.ns_per_step();
    state.counters["yoshida4_ns_per_step"] = y4.ns_per_step();
    state.counters["dopri5_ns_per_step"] = dp.ns_per_step();
    state.counters["leapfrog_over_dopri5"] = lf.ns_per_step() / dp.ns_per_step();
    state.counters["yoshida4_over_dopri5"] = y4.ns_per_step() / dp.ns_per_step();
}

void BM_pendulum_per_step(benchmark::State& state) {
    run_three(state, pendulum, std::array<double, 2>{1.0, 0.0}, 100.0);
}

void BM_pendulum4096_per_step(benchmark::State& state) {
    odenet::Tensor<double> y0 = odenet::Tensor<double>::from_shape({2, kBatch});
    for (std::size_t i = 0; i < kBatch; ++i) {
        y0.data()[i] = 0.5 + 1e-3 * static_cast<double>(i % 97);
        y0.data()[kBatch + i] = 0.0;
    }
    run_three(state, pendulum_batch, y0, 1.0);
}

}  // namespace

BENCHMARK(BM_pendulum_per_step)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_pendulum4096_per_step)->Unit(benchmark::kMillisecond);
