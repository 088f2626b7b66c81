#pragma once
// Robertson's chemical kinetics (Robertson 1966; Hairer & Wanner II, Sec. IV.1), the classic
// stiff test problem: three species, three reactions
//   A -> B        rate k1 y1          (slow,      k1 = 0.04)
//   B + B -> C    rate k2 y2^2        (very fast, k2 = 3e7)
//   B + C -> A+C  rate k3 y2 y3       (fast,      k3 = 1e4)
//   y1' = -k1 y1 + k3 y2 y3,  y2' = k1 y1 - k3 y2 y3 - k2 y2^2,  y3' = k2 y2^2,  y(0) = (1, 0, 0).
// y2 rises within ~3e-3 to a quasi-steady ~3.6e-5 and then decays with y1 over decades; the
// Jacobian's largest eigenvalue reaches -1e4 (-(k3 y3 + 2 k2 y2) at late times) against time
// scales up to 1e5, where an explicit method's stability holds it to steps of ~3e-4.
//
// The data: the true solution at log-spaced times, with multiplicative lognormal noise.
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "odenet/autodiff/var.hpp"
#include "odenet/core/tensor.hpp"
#include "odenet/ode/stats.hpp"
#include "odenet/ode/tableau.hpp"

namespace odenet::stiff_kinetics {

using Rates = std::array<double, 3>;
inline constexpr Rates kTrueRates{0.04, 3e7, 1e4};
inline constexpr std::array<const char*, 3> kRateNames{"k1", "k2", "k3"};

/// The field for rates exp(log_k): log_k (3,) and y (3,) of one dtype; returns dy/dt (3,). The
/// reaction rates r = exp(log_k) [y1, y2^2, y2 y3], then dy/dt = S r with the stoichiometry
/// matrix S = [[-1, 0, 1], [1, -1, -1], [0, 1, 0]].
Var field(const Var& log_k, const Var& y);

/// The same in doubles, and its Jacobian ∂f/∂y (row-major 3 x 3).
std::array<double, 3> field(const Rates& k, const std::array<double, 3>& y);
std::array<double, 9> jacobian(const Rates& k, const std::array<double, 3>& y);

/// The solution at the times ts (increasing, > 0) from y(0) = (1, 0, 0): (len(ts), 3), float64.
/// Solved by rodas4 at rtol/atol, the Jacobian in closed form (not the engine's: the data do not
/// depend on the code being fitted). stats, if given, receives the solve's counters.
Tensor<double> solve(const Rates& k, const std::vector<double>& ts, double rtol, double atol, ode::SolveStats* stats = nullptr);

struct DataOptions {
    Rates rates = kTrueRates;
    std::size_t points = 40;  ///< observation times, log-spaced on [t_min, t_max]
    double t_min = 1e-5, t_max = 1e5;
    double noise = 0.01;  ///< y_obs = y exp(noise ε), ε ~ N(0, 1): ~1% relative error per value
    double rtol = 1e-10, atol = 1e-14;  ///< the truth's rodas4 tolerances
};

struct Dataset {
    std::vector<double> ts;   ///< the observation times (points)
    Tensor<double> truth;     ///< (points, 3), noise-free
    Tensor<double> observed;  ///< (points, 3), with noise
    Rates scale{};            ///< per species: the largest observed value (what the loss divides by)
    ode::SolveStats stats{};  ///< of the truth's solve
};
/// Throws ValueError for points < 2, t_min not in (0, t_max), a negative noise.
Dataset make_dataset(const DataOptions& options, std::uint64_t seed);

/// n times log-spaced on [lo, hi].
std::vector<double> log_times(double lo, double hi, std::size_t n);

}  // namespace odenet::stiff_kinetics
