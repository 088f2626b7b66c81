#pragma once
// The pictures of examples/cde.
#include <string>
#include <vector>

#include "odenet/cde/spirals.hpp"
#include "odenet/nn/interpolation.hpp"

namespace odenet::cde {

/// paths.png: one panel per spiral of `shown` (up to 8, two rows): the observations that
/// survived the drop (dots), the natural cubic spline the CDE reads through them (coloured by
/// time, dark at t = 0) and, on top, the noise-free spiral (orange, a square at t = 0), titled by
/// its direction.
void save_paths_figure(const std::string& path, const Spirals& shown, const nn::CubicPath& X);

/// One curve per model over epochs (accuracy.png, loss.png).
struct Curve {
    std::string label;
    std::vector<double> values;
};
void save_curves(const std::string& path, const std::string& title, const std::vector<Curve>& curves, bool log_y);

}  // namespace odenet::cde
