#pragma once
// Small plots drawn straight onto an Image: scatter plots of 2-D samples, density heatmaps,
// training curves and ODE trajectories. Enough to look at a flow's samples and a loss curve
// without a plotting library; not a plotting library.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "odenet/core/tensor.hpp"
#include "odenet/util/png_image.hpp"

namespace odenet::util {

/// The data rectangle a square 2-D plot shows.
struct Range {
    double x0 = -4, x1 = 4, y0 = -4, y1 = 4;
};

/// Viridis-like colour for t in [0, 1] (clamped): dark purple -> blue -> green -> yellow,
/// interpolated between 9 stops of matplotlib's viridis (van der Walt & Smith, 2015).
Rgb viridis(double t);

/// n x n points (n², 2) at the pixel centres of an n x n grid over `range`, row-major with
/// the first row at the top (y = y1), i.e. the order heatmap() expects.
Tensor<double> grid_points(const Range& range, std::size_t n);

struct ScatterOptions {
    Rgb color{31, 119, 180};
    double alpha = 0.35;  // overlapping dots darken: the picture shows density
    int dot = 2;          // dot side in pixels
    bool axes = true;     // thin grey lines at x = 0 and y = 0
};

/// A size x size scatter plot of points (n, 2) within `range`; points outside are clipped.
/// Throws ShapeError unless points is (n, 2).
Image scatter_plot(const Tensor<double>& points, const Range& range, std::size_t size, const ScatterOptions& opt = {});

/// A heatmap of values (rows, cols), row 0 at the top, each cell `scale` x `scale` pixels,
/// coloured by viridis between the minimum and maximum finite values (non-finite cells black).
/// For densities pass exp(log p) or log p. Throws ShapeError unless values is 2-D and non-empty.
Image heatmap(const Tensor<double>& values, std::size_t scale = 1);

struct Series {
    std::string label;
    std::vector<double> x{}, y{};  // the same length; points with a non-finite y are skipped
    bool markers = false;          // a small square at each point instead of a polyline (data)
    std::optional<Rgb> color{};    // empty: the palette colour of the series' position
};

struct LinePlotOptions {
    std::size_t width = 640, height = 400;
    bool log_y = false;  // for losses: ticks at powers of ten; values <= 0 are skipped
    std::string title{}, x_label{};
    bool log_x = false;  // for times over decades: the same, along x
};

/// Training curves: an axes box with ticks and tick labels (5x7 font), one coloured polyline
/// (or row of markers) per series and a legend of the labels (a series without one is left
/// out). Throws ValueError if a series' x and y differ in length or nothing is finite to plot.
Image line_plot(const std::vector<Series>& series, const LinePlotOptions& opt = {});

/// Trajectories of particles, shape (T, N, 2): N polylines over T time points within `range`,
/// drawn faintly, with start points (t = 0) in one colour and end points in another.
/// Throws ShapeError unless paths is (T, N, 2).
Image trajectory_plot(const Tensor<double>& paths, const Range& range, std::size_t size);

/// "Nice" tick positions covering [lo, hi]: multiples of 1, 2 or 5 x 10^k, about `target` of
/// them (at least two when lo < hi).
std::vector<double> nice_ticks(double lo, double hi, int target = 5);

}  // namespace odenet::util
