#pragma once
// The pictures of the planar-flow comparison: panels of densities and samples laid out as the
// Neural ODE paper's Figure 4 (a row per target, a column per model), and stacked curves.
#include <string>
#include <vector>

#include "odenet/core/tensor.hpp"
#include "odenet/util/plot.hpp"

namespace odenet::planar_flows {

/// The square [−4, 4]² every panel shows (Rezende & Mohamed's frame for U1-U4).
inline constexpr util::Range kFrame{-4, 4, -4, 4};

/// exp(log p) on the n x n grid util::grid_points(kFrame, n) as a size x size heatmap.
util::Image density_panel(const Tensor<double>& log_p, std::size_t n, std::size_t size);

/// Panels in rows with a title above each column and to the left of each row; every panel must
/// have the size of the first. ValueError for ragged rows or titles that do not match.
util::Image panel_grid(const std::vector<std::vector<util::Image>>& rows, const std::vector<std::string>& column_titles,
                       const std::vector<std::string>& row_titles);

/// Images one above the other, left-aligned on a white background.
util::Image stack_vertically(const std::vector<util::Image>& images);

}  // namespace odenet::planar_flows
