// ODE solver benchmarks: odenet's dopri5 against Boost.Odeint's runge_kutta_dopri5 in the same
// binary, same problems, same tolerances. The two take different numbers of steps (Boost
// controls a max norm, odenet an RMS norm), so the figure compared is the time per accepted
// step, ns_per_step (thread CPU time / accepted steps; rejected attempts are part of the cost of
// a step for both), with steps, nfe and ns_per_nfe alongside.
// Run: bench_ode --benchmark_format=json; the ratio is ns_per_step(odenet) / ns_per_step(boost)
// for the pairs BM_<problem>_odenet / BM_<problem>_boost.
#include <benchmark/benchmark.h>

#include <array>
#include <boost/numeric/odeint.hpp>
#include <cmath>
#include <ctime>
#include <vector>

#include "odenet/ode.hpp"

namespace ode = odenet::ode;
namespace odeint = boost::numeric::odeint;

namespace {

constexpr double kTol = 1e-8;

// Lorenz (1963), sigma = 10, rho = 28, beta = 8/3, written once for any indexable state.
template <class S>
inline void lorenz(const S& u, S& du) {
    du[0] = 10.0 * (u[1] - u[0]);
    du[1] = u[0] * (28.0 - u[2]) - u[1];
    du[2] = u[0] * u[1] - (8.0 / 3.0) * u[2];
}

template <class S>
inline void van_der_pol(const S& u, S& du) {
    du[0] = u[1];
    du[1] = (1.0 - u[0] * u[0]) * u[1] - u[0];  // mu = 1
}

// A batch of independent Lorenz systems in one flat array (n x 3), each started a little apart.
constexpr std::size_t kBatch = 4096;
constexpr double kBatchEnd = 10.0;  // 10 time units: ~1000 steps of a 12288-element state

inline void lorenz_batch(const double* u, double* du, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        const double x = u[3 * i], y = u[3 * i + 1], z = u[3 * i + 2];
        du[3 * i] = 10.0 * (y - x);
        du[3 * i + 1] = x * (28.0 - z) - y;
        du[3 * i + 2] = x * y - (8.0 / 3.0) * z;
    }
}

inline double batch_initial(std::size_t i) { return 1.0 + 1e-3 * static_cast<double>(i % 97); }

// Reports the figures every benchmark here shares. Times are this thread's CPU time, so that
// other jobs on a shared machine inflate neither side of the ratio.
inline double thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return 1e9 * static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec);
}

struct StepTimer {
    double ns = 0.0;
    double steps = 0.0;
    double nfe = 0.0;
    template <class F>
    void time(F&& run_once) {
        const double t0 = thread_cpu_ns();
        run_once();
        ns += thread_cpu_ns() - t0;
    }
    void report(benchmark::State& state) const {
        state.counters["ns_per_step"] = ns / steps;
        state.counters["steps"] = steps / static_cast<double>(state.iterations());
        state.counters["nfe"] = nfe / static_cast<double>(state.iterations());
        state.counters["ns_per_nfe"] = ns / nfe;
    }
};

// ---- 3-dimensional Lorenz and Van der Pol, t in [0, 100] ---------------------------------

template <std::size_t N, void (*F)(const std::array<double, N>&, std::array<double, N>&)>
void odenet_small(benchmark::State& state, std::array<double, N> y0) {
    StepTimer timer;
    auto f = [](double, const std::array<double, N>& u, std::array<double, N>& du) { F(u, du); };
    for (auto _ : state) {
        ode::Solution<std::array<double, N>> sol;
        timer.time([&] { sol = ode::solve(f, y0, {0.0, 100.0}, {.method = ode::Method::dopri5, .rtol = kTol, .atol = kTol}); });
        benchmark::DoNotOptimize(sol.ys.back());
        timer.steps += static_cast<double>(sol.stats.accepted);
        timer.nfe += static_cast<double>(sol.stats.nfe);
    }
    timer.report(state);
}

template <std::size_t N, void (*F)(const std::array<double, N>&, std::array<double, N>&)>
void boost_small(benchmark::State& state, std::array<double, N> y0) {
    using S = std::array<double, N>;
    StepTimer timer;
    std::size_t nfe = 0;
    auto sys = [&nfe](const S& u, S& du, double) {
        ++nfe;
        F(u, du);
    };
    for (auto _ : state) {
        S x = y0;
        std::size_t steps = 0;
        nfe = 0;
        timer.time([&] {
            // integrate_adaptive returns the number of accepted steps.
            steps = odeint::integrate_adaptive(odeint::make_controlled(kTol, kTol, odeint::runge_kutta_dopri5<S>()), sys,
                                               x, 0.0, 100.0, 1e-3);
        });
        benchmark::DoNotOptimize(x);
        timer.steps += static_cast<double>(steps);
        timer.nfe += static_cast<double>(nfe);
    }
    timer.report(state);
}

void BM_lorenz_odenet(benchmark::State& s) { odenet_small<3, lorenz<std::array<double, 3>>>(s, {1.0, 1.0, 1.0}); }
void BM_lorenz_boost(benchmark::State& s) { boost_small<3, lorenz<std::array<double, 3>>>(s, {1.0, 1.0, 1.0}); }
void BM_vdp_odenet(benchmark::State& s) { odenet_small<2, van_der_pol<std::array<double, 2>>>(s, {2.0, 0.0}); }
void BM_vdp_boost(benchmark::State& s) { boost_small<2, van_der_pol<std::array<double, 2>>>(s, {2.0, 0.0}); }

// ---- a large state: 4096 Lorenz systems (12288 doubles) -----------------------------------

void BM_lorenz4096_odenet(benchmark::State& state) {
    using T = odenet::Tensor<double>;
    T y0 = T::from_shape({kBatch, 3});
    for (std::size_t i = 0; i < y0.size(); ++i) y0.data()[i] = batch_initial(i);
    auto f = [](double, const T& u, T& du) { lorenz_batch(u.data(), du.data(), kBatch); };
    StepTimer timer;
    for (auto _ : state) {
        ode::Solution<T> sol;
        timer.time([&] { sol = ode::solve(f, y0, {0.0, kBatchEnd}, {.method = ode::Method::dopri5, .rtol = kTol, .atol = kTol}); });
        benchmark::DoNotOptimize(sol.ys.back().data());
        timer.steps += static_cast<double>(sol.stats.accepted);
        timer.nfe += static_cast<double>(sol.stats.nfe);
    }
    timer.report(state);
}

void BM_lorenz4096_boost(benchmark::State& state) {
    using S = std::vector<double>;
    S y0(3 * kBatch);
    for (std::size_t i = 0; i < y0.size(); ++i) y0[i] = batch_initial(i);
    std::size_t nfe = 0;
    auto sys = [&nfe](const S& u, S& du, double) {
        ++nfe;
        lorenz_batch(u.data(), du.data(), kBatch);
    };
    StepTimer timer;
    for (auto _ : state) {
        S x = y0;
        std::size_t steps = 0;
        nfe = 0;
        timer.time([&] {
            steps = odeint::integrate_adaptive(odeint::make_controlled(kTol, kTol, odeint::runge_kutta_dopri5<S>()), sys,
                                               x, 0.0, kBatchEnd, 1e-3);
        });
        benchmark::DoNotOptimize(x.data());
        timer.steps += static_cast<double>(steps);
        timer.nfe += static_cast<double>(nfe);
    }
    timer.report(state);
}

}  // namespace

BENCHMARK(BM_lorenz_odenet)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_lorenz_boost)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_vdp_odenet)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_vdp_boost)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_lorenz4096_odenet)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_lorenz4096_boost)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
