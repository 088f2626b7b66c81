#pragma once
// The example's measurements and pictures: energy drift and trajectory error of a rollout
// against the truth, phase portraits and true energy over time (util::line_plot panels side by
// side, one per system), training curves.
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include "odenet/core/tensor.hpp"
#include "odenet/hamiltonian/systems.hpp"

namespace odenet::hamiltonian {

/// One model's rollout from the held-out states: ys (len(ts), K, 2).
struct Rollout {
    std::string model, method;
    Tensor<double> ys;
    std::size_t nfe = 0;
    double seconds = 0;
    /// The model's own (learned) energy: max over the rollout of |H̃(y(t)) − H̃(y0)|, mean over
    /// the states; NaN for the MLP, which has none. What the integrator conserves.
    double learned_drift = std::numeric_limits<double>::quiet_NaN();
};

/// Means over the K states. Energy drift: of the true H, relative to H(y0): |H(y(T)) − H(y0)| /
/// H(y0) at the end, and its maximum over the rollout. Trajectory error: the Euclidean distance
/// |y(t) − y_true(t)| averaged over the outputs in the first period, and over all of them. A
/// rollout holding NaN or Inf gives NaN.
struct Metrics {
    double drift_end = 0, drift_max = 0, error_first_period = 0, error_mean = 0;
};
Metrics measure(System s, const Tensor<double>& ys, const Tensor<double>& truth, const std::vector<double>& ts, double period);

/// What the figures draw for one system: the truth and every rollout, at the times ts.
struct Panel {
    System system{};
    std::vector<double> ts;
    Tensor<double> truth;  ///< (len(ts), K, 2)
    std::vector<Rollout> rollouts{};
};

/// The first held-out state's orbit in (q, p): truth and each rollout; one panel per system.
void save_phase_figure(const std::string& path, const std::vector<Panel>& panels);
/// The true energy H(y(t)) along the first held-out state's rollouts; one panel per system.
void save_energy_figure(const std::string& path, const std::vector<Panel>& panels);

struct Curve {
    std::string label;
    std::vector<double> y;
};
/// Training losses against iterations, log scale.
void save_loss_figure(const std::string& path, const std::vector<Curve>& curves);

}  // namespace odenet::hamiltonian
