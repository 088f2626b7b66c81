// line_plot: training curves with axes, ticks, tick labels and a legend.
#include <algorithm>
#include <cmath>
#include <limits>

#include "odenet/core/error.hpp"
#include "odenet/util/plot.hpp"
#include "plot_detail.hpp"

namespace odenet::util {

namespace {

struct Bounds {
    double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
};

// A coordinate as drawn: log10 of it on a log axis (NaN for values <= 0, which are skipped).
double axis_value(double v, bool log) { return log ? (v > 0 ? std::log10(v) : std::numeric_limits<double>::quiet_NaN()) : v; }

// The data bounds over all plottable points; x and y in log10 units on log axes.
Bounds data_bounds(const std::vector<Series>& series, bool log_x, bool log_y) {
    Bounds b;
    for (const Series& s : series) {
        if (s.x.size() != s.y.size()) {
            throw ValueError("line_plot", "series '" + s.label + "' has " + std::to_string(s.x.size()) + " x values and " +
                                              std::to_string(s.y.size()) + " y values");
        }
        for (std::size_t i = 0; i < s.x.size(); ++i) {
            const double x = axis_value(s.x[i], log_x), y = axis_value(s.y[i], log_y);
            if (!std::isfinite(y) || !std::isfinite(x)) continue;
            b.x0 = std::min(b.x0, x), b.x1 = std::max(b.x1, x);
            b.y0 = std::min(b.y0, y), b.y1 = std::max(b.y1, y);
        }
    }
    if (!(b.x1 >= b.x0)) throw ValueError("line_plot", "no finite points to plot");
    // A flat series still gets a visible extent.
    if (b.x1 == b.x0) b.x0 -= 0.5, b.x1 += 0.5;
    if (b.y1 == b.y0) b.y0 -= 0.5, b.y1 += 0.5;
    const double pad = 0.05 * (b.y1 - b.y0);
    b.y0 -= pad, b.y1 += pad;
    return b;
}

// Tick positions (in axis units) along [lo, hi]: nice numbers, or on a log axis powers of ten
// (with 2 and 5 times them when the range spans less than two powers).
std::vector<double> axis_ticks(double lo, double hi, bool log) {
    if (!log) return nice_ticks(lo, hi);
    std::vector<double> ticks;
    const bool few = std::floor(hi) - std::ceil(lo) < 1.0;
    for (double e = std::floor(lo); e <= std::ceil(hi); e += 1.0) {
        for (double m : few ? std::vector<double>{1, 2, 5} : std::vector<double>{1}) {
            const double t = e + std::log10(m);
            if (t >= lo && t <= hi) ticks.push_back(t);
        }
    }
    return ticks;
}

// "0.01", "100", and "1e-5" rather than "1e-05" for the powers of ten far from 1.
std::string log_tick_label(double t) {
    const double v = std::pow(10.0, t);
    if (std::abs(t - std::round(t)) < 1e-9 && std::abs(t) > 2.5) return "1e" + std::to_string(long(std::lround(t)));
    return detail::tick_label(v);
}

void draw_axes(Image& img, const detail::Frame& f, bool log_x, bool log_y) {
    img.draw_rect(f.left, f.top, f.right, f.bottom, kBlack);
    for (double t : axis_ticks(f.x0, f.x1, log_x)) {
        const long x = f.px(t);
        img.draw_line(x, f.bottom, x, f.bottom + 4, kBlack);
        if (log_x) img.draw_line(x, f.top + 1, x, f.bottom - 1, {235, 235, 235});  // light grid line
        const std::string label = log_x ? log_tick_label(t) : detail::tick_label(t);
        img.draw_text(x - text_width(label) / 2, f.bottom + 7, label, kBlack);
    }
    for (double t : axis_ticks(f.y0, f.y1, log_y)) {
        const long y = f.py(t);
        img.draw_line(f.left - 4, y, f.left, y, kBlack);
        img.draw_line(f.left + 1, y, f.right - 1, y, {235, 235, 235});  // light grid line
        const std::string label = log_y ? log_tick_label(t) : detail::tick_label(t);
        img.draw_text(f.left - 6 - text_width(label), y - 3, label, kBlack);
    }
}

}  // namespace

Image line_plot(const std::vector<Series>& series, const LinePlotOptions& opt) {
    const Bounds b = data_bounds(series, opt.log_x, opt.log_y);
    Image img(opt.width, opt.height);
    const long title_space = opt.title.empty() ? 8 : 20;
    const long bottom_space = opt.x_label.empty() ? 22 : 34;
    const detail::Frame f{b.x0, b.x1, b.y0, b.y1, 60, title_space, long(opt.width) - 12, long(opt.height) - bottom_space};
    if (f.right - f.left < 20 || f.bottom - f.top < 20) throw ValueError("line_plot", "image too small for axes");
    draw_axes(img, f, opt.log_x, opt.log_y);
    std::size_t legend_rows = 0;
    for (std::size_t k = 0; k < series.size(); ++k) {
        const Series& s = series[k];
        const Rgb c = s.color.value_or(detail::kPalette[k % detail::kPalette.size()]);
        bool have_prev = false;
        long px = 0, py = 0;
        for (std::size_t i = 0; i < s.x.size(); ++i) {
            const double x = axis_value(s.x[i], opt.log_x), y = axis_value(s.y[i], opt.log_y);
            if (!std::isfinite(y) || !std::isfinite(x)) {
                have_prev = false;  // a gap, not a line through the missing point
                continue;
            }
            const long x1 = f.px(x), y1 = f.py(y);
            if (s.markers) img.fill_rect(x1 - 2, y1 - 2, x1 + 2, y1 + 2, c);
            else if (have_prev) img.draw_line(px, py, x1, y1, c);
            else img.plot(x1, y1, c);
            px = x1, py = y1, have_prev = true;
        }
        // Legend, top right inside the box: a colour swatch and the label (none without a label).
        if (s.label.empty()) continue;
        const long ly = f.top + 6 + 12 * long(legend_rows++);
        const long lx = f.right - 8 - text_width(s.label) - 16;
        if (s.markers) img.fill_rect(lx + 3, ly + 1, lx + 7, ly + 5, c);
        else img.fill_rect(lx, ly + 1, lx + 10, ly + 5, c);
        img.draw_text(lx + 14, ly, s.label, kBlack);
    }
    if (!opt.title.empty()) img.draw_text(f.left, 6, opt.title, kBlack);
    if (!opt.x_label.empty()) {
        img.draw_text((f.left + f.right - text_width(opt.x_label)) / 2, long(opt.height) - 12, opt.x_label, kBlack);
    }
    return img;
}

}  // namespace odenet::util
