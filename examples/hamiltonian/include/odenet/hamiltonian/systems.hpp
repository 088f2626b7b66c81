#pragma once
// The two ideal systems of Greydanus, Dzamba & Yosinski (2019), sections 4.1 and 4.2, with every
// constant 1 (mass, length, gravity, spring constant):
//   pendulum     H(q, p) = p²/2 + (1 − cos q)     dq/dt = p,  dp/dt = −sin q
//   mass-spring  H(q, p) = p²/2 + q²/2            dq/dt = p,  dp/dt = −q
// and the noisy observations learned from: trajectories from random initial energies, sampled at
// a fixed spacing, each state with Gaussian noise added; the targets are the exact time
// derivatives at the noise-free states (the paper's protocol).
#include <cstddef>
#include <string>
#include <vector>

#include "odenet/core/random.hpp"
#include "odenet/core/tensor.hpp"

namespace odenet::hamiltonian {

enum class System { pendulum, spring };

/// "pendulum", "spring"; system_from_name throws ValueError for another name.
const char* system_name(System s);
System system_from_name(const std::string& name);

/// The true energy and field at one state.
double energy(System s, double q, double p);
/// (N, 2) states [q, p] -> (N, 2) [dq/dt, dp/dt].
Tensor<double> field(System s, const Tensor<double>& y);

struct DataOptions {
    std::size_t trajectories = 25;  ///< trajectories drawn
    double t_span = 3.0;            ///< each observed on [0, t_span]
    double dt = 0.1;                ///< at this spacing (t_span / dt + 1 samples, rounded down)
    double noise = 0.1;             ///< std of the Gaussian noise on q and on p
    double e_min = 0.2, e_max = 1.0;  ///< initial energies uniform on [e_min, e_max] (< 2: no pendulum rotates)
};

/// A state of energy e at a uniformly random point of its orbit: for the spring an angle, for the
/// pendulum q uniform on [−q_max, q_max] (1 − cos q_max = e) and p = ±√(2 (e − (1 − cos q))).
/// Throws ValueError for e <= 0, or e >= 2 for the pendulum.
std::vector<double> state_with_energy(System s, double e, Generator& gen);

struct Dataset {
    Tensor<double> y;     ///< (M, 2): observed (noisy) states
    Tensor<double> dydt;  ///< (M, 2): exact [dq/dt, dp/dt] at the noise-free states
};

/// The training data: options.trajectories trajectories from random energies, solved with
/// dopri5 at rtol = atol = 1e-10, sampled every dt on [0, t_span], noise added.
Dataset make_dataset(System s, const DataOptions& options, std::uint64_t seed);

/// count initial states (count, 2) with energies uniform on [e_min, e_max], from their own seed.
Tensor<double> initial_states(System s, std::size_t count, double e_min, double e_max, std::uint64_t seed);

/// The true trajectories from y0 (K, 2) at times ts: (len(ts), K, 2), dopri5 at rtol = atol = tol
/// (the reference: 1e-10). `nfe`, when given, receives the solve's count of evaluations.
Tensor<double> true_rollout(System s, const Tensor<double>& y0, const std::vector<double>& ts, double tol = 1e-10,
                            std::size_t* nfe = nullptr);

}  // namespace odenet::hamiltonian
