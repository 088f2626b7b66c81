#pragma once
// The example's pictures: where the flow takes the points (one row per p), and training curves
// of every p on one plot (util::line_plot).
#include <cstddef>
#include <string>
#include <vector>

#include "odenet/core/tensor.hpp"

namespace odenet::augmented {

/// One trained model's flow: the inputs, their states at t = 1 and the linear map read from them.
struct FlowPanel {
    std::size_t p = 0;
    Tensor<double> x0{};          ///< (n, 2): the inputs
    Tensor<double> h1{};          ///< (n, 2 + p): the states at t = 1
    std::vector<double> label{};  ///< (n): -1 or +1
    std::vector<double> w{};      ///< (2 + p): the linear map's weights
    double b = 0;               ///< and its bias
    double accuracy = 0;        ///< printed in the panel's title
};

/// The final states drawn in the plane where the classification happens: x = w.h + b (the
/// score; the decision boundary is the vertical line x = 0) against y = the final states'
/// principal direction orthogonal to w (the direction they spread along most, so points do not
/// pile up). For p = 0 this is the (h1, h2) plane rotated; for p >= 1 a projection that shows
/// whether the two classes end on opposite sides of the boundary.
struct Projection {
    std::vector<double> score, spread;
};
Projection project(const FlowPanel& panel);

/// Rows of three square panels (size pixels each), one row per model: the inputs (x1, x2), the
/// states at t = 1 in their first two coordinates (h1, h2) (for p = 0 the whole state: how the flow
/// deformed the plane; both panels at equal scales on their two axes) and project()'s plane (axes scaled
/// apart), points coloured by label. Written atomically (Image::save_png).
void save_flow_figure(const std::string& path, const std::vector<FlowPanel>& panels, std::size_t size = 300);

/// Curves y[k] against iterations 1..n, one per p, on one plot; `smooth` > 1 draws the running
/// mean over that many iterations (said in the title).
struct Curve {
    std::size_t p = 0;
    std::vector<double> y;
};
void save_curves(const std::string& path, const std::string& title, const std::vector<Curve>& curves, std::size_t smooth,
                 bool log_y);

}  // namespace odenet::augmented
