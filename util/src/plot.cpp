#include "odenet/util/plot.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "odenet/core/error.hpp"
#include "plot_detail.hpp"

namespace odenet::util {

namespace {

using detail::Frame;
using detail::kPalette;

Frame square_frame(const Range& r, std::size_t size) {
    if (!(r.x1 > r.x0) || !(r.y1 > r.y0)) throw ValueError("plot", "empty range");
    return {r.x0, r.x1, r.y0, r.y1, 0, 0, static_cast<long>(size) - 1, static_cast<long>(size) - 1};
}

void require_points(const Tensor<double>& x, std::size_t rank, const char* where, const char* expected) {
    if (x.dimension() != rank || x.shape(rank - 1) != 2) {
        throw ShapeError(where, std::string("expected shape ") + expected + ", got " + shape_str(x.shape()));
    }
}

bool finite_point(const Tensor<double>& paths, std::size_t t, std::size_t p) {
    return std::isfinite(paths(t, p, 0)) && std::isfinite(paths(t, p, 1));
}

}  // namespace

Rgb viridis(double t) {
    static constexpr std::array<Rgb, 9> kStops = {{{68, 1, 84}, {71, 44, 122}, {59, 81, 139}, {44, 113, 142},
                                                   {33, 145, 140}, {39, 173, 129}, {92, 200, 99},
                                                   {170, 220, 50}, {253, 231, 37}}};
    const double s = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0) * double(kStops.size() - 1);
    const auto i = std::min(static_cast<std::size_t>(s), kStops.size() - 2);
    const double f = s - double(i);
    auto mix = [f](std::uint8_t a, std::uint8_t b) { return static_cast<std::uint8_t>(std::lround(a + f * (b - a))); };
    return {mix(kStops[i].r, kStops[i + 1].r), mix(kStops[i].g, kStops[i + 1].g), mix(kStops[i].b, kStops[i + 1].b)};
}

Tensor<double> grid_points(const Range& r, std::size_t n) {
    Tensor<double> out = Tensor<double>::from_shape({n * n, 2});
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j < n; ++j) {
            out(i * n + j, 0) = r.x0 + (double(j) + 0.5) / double(n) * (r.x1 - r.x0);
            out(i * n + j, 1) = r.y1 - (double(i) + 0.5) / double(n) * (r.y1 - r.y0);
        }
    }
    return out;
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
    if (!(hi > lo)) return {lo};
    const double raw = (hi - lo) / std::max(target, 1);
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    double step = mag;
    for (double m : {2.0, 5.0, 10.0}) {
        if (step >= raw) break;
        step = m * mag;
    }
    std::vector<double> ticks;
    for (double t = std::ceil(lo / step) * step; t <= hi + 1e-9 * step; t += step) ticks.push_back(t);
    return ticks;
}

Image scatter_plot(const Tensor<double>& points, const Range& range, std::size_t size, const ScatterOptions& opt) {
    require_points(points, 2, "scatter_plot", "(n, 2)");
    const Frame f = square_frame(range, size);
    Image img(size, size);
    if (opt.axes) {
        img.draw_line(f.px(0), f.top, f.px(0), f.bottom, {225, 225, 225});
        img.draw_line(f.left, f.py(0), f.right, f.py(0), {225, 225, 225});
    }
    for (std::size_t i = 0; i < points.shape(0); ++i) {
        if (!std::isfinite(points(i, 0)) || !std::isfinite(points(i, 1))) continue;
        const long x = f.px(points(i, 0)), y = f.py(points(i, 1));
        img.fill_rect(x, y, x + opt.dot - 1, y + opt.dot - 1, opt.color, opt.alpha);
    }
    return img;
}

Image heatmap(const Tensor<double>& values, std::size_t scale) {
    if (values.dimension() != 2 || values.size() == 0 || scale == 0) {
        throw ShapeError("heatmap", "expected a non-empty (rows, cols) grid and scale >= 1, got " + shape_str(values.shape()));
    }
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (double v : values) {
        if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    }
    const std::size_t rows = values.shape(0), cols = values.shape(1);
    Image img(cols * scale, rows * scale, kBlack);
    for (std::size_t i = 0; i < rows; ++i) {
        for (std::size_t j = 0; j < cols; ++j) {
            const double v = values(i, j);
            if (!std::isfinite(v)) continue;
            const Rgb c = viridis(hi > lo ? (v - lo) / (hi - lo) : 0.5);
            img.fill_rect(long(j * scale), long(i * scale), long((j + 1) * scale) - 1, long((i + 1) * scale) - 1, c);
        }
    }
    return img;
}

Image trajectory_plot(const Tensor<double>& paths, const Range& range, std::size_t size) {
    require_points(paths, 3, "trajectory_plot", "(T, N, 2)");
    const Frame f = square_frame(range, size);
    Image img(size, size);
    const std::size_t steps = paths.shape(0), n = paths.shape(1);
    for (std::size_t p = 0; p < n; ++p) {
        for (std::size_t t = 1; t < steps; ++t) {
            if (!finite_point(paths, t - 1, p) || !finite_point(paths, t, p)) continue;
            img.draw_line(f.px(paths(t - 1, p, 0)), f.py(paths(t - 1, p, 1)), f.px(paths(t, p, 0)), f.py(paths(t, p, 1)),
                          kGrey, 0.5);
        }
    }
    if (steps == 0) return img;
    for (std::size_t p = 0; p < n; ++p) {
        if (!finite_point(paths, 0, p) || !finite_point(paths, steps - 1, p)) continue;
        const long x0 = f.px(paths(0, p, 0)), y0 = f.py(paths(0, p, 1));
        const long x1 = f.px(paths(steps - 1, p, 0)), y1 = f.py(paths(steps - 1, p, 1));
        img.fill_rect(x0 - 1, y0 - 1, x0 + 1, y0 + 1, kPalette[0]);
        img.fill_rect(x1 - 1, y1 - 1, x1 + 1, y1 + 1, kPalette[3]);
    }
    return img;
}

}  // namespace odenet::util
