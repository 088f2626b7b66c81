#pragma once
// The pictures of the Neural ODE paper's Figure 8 for one trained model: test spirals with their
// observed points, true trajectory, and the model's reconstruction and extrapolation; and, for
// the latent models, the latent trajectories.
#include <string>
#include <vector>

#include "odenet/core/tensor.hpp"

namespace odenet::latent_ode {

/// One spiral's panel: the clean curve over the whole window (grey), the points the model saw
/// (black dots), and the model's prediction in two parts, within the observed window (blue,
/// "reconstruction") and after it (red, "extrapolation"). Either part may be empty.
struct SpiralPanel {
    std::vector<double> true_x, true_y;
    std::vector<double> seen_x, seen_y;
    std::vector<double> recon_x, recon_y;
    std::vector<double> extra_x, extra_y;
};

/// Panels in a grid of `columns`, each `size` pixels square, under a title; written atomically.
void save_spiral_figure(const std::string& path, const std::string& title, const std::vector<SpiralPanel>& panels,
                        std::size_t columns, std::size_t size);

/// Latent paths (T, N, latent) drawn in their first two dimensions, coloured by `group` (1:
/// clockwise, 0: counter-clockwise), with a dot at each start; the observed window's part solid,
/// the rest faint. `observed_steps` of the T steps are inside the observed window.
void save_latent_figure(const std::string& path, const std::string& title, const Tensor<double>& paths,
                        const std::vector<int>& group, std::size_t observed_steps, std::size_t size);

}  // namespace odenet::latent_ode
