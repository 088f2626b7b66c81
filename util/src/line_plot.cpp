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

// The data bounds over all plottable points; y in log10 units when log_y.
Bounds data_bounds(const std::vector<Series>& series, bool log_y) {
    Bounds b;
    for (const Series& s : series) {
        if (s.x.size() != s.y.size()) {
            throw ValueError("line_plot", "series '" + s.label + "' has " + std::to_string(s.x.size()) + " x values and " +
                                              std::to_string(s.y.size()) + " y values");
        }
        for (std::size_t i = 0; i < s.x.size(); ++i) {
            const double y = log_y ? std::log10(s.y[i]) : s.y[i];
            if (!std::isfinite(y) || !std::isfinite(s.x[i])) continue;
            b.x0 = std::min(b.x0, s.x[i]), b.x1 = std::max(b.x1, s.x[i]);
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

void draw_axes(Image& img, const detail::Frame& f, bool log_y) {
    img.draw_rect(f.left, f.top, f.right, f.bottom, kBlack);
    for (double t : nice_ticks(f.x0, f.x1)) {
        const long x = f.px(t);
        img.draw_line(x, f.bottom, x, f.bottom + 4, kBlack);
        const std::string label = detail::tick_label(t);
        img.draw_text(x - text_width(label) / 2, f.bottom + 7, label, kBlack);
    }
    std::vector<double> yt = log_y ? std::vector<double>{} : nice_ticks(f.y0, f.y1);
    if (log_y) {
        // Powers of ten; when the range spans less than two of them, 1-2-5 multiples as well.
        const bool few = std::floor(f.y1) - std::ceil(f.y0) < 1.0;
        for (double e = std::floor(f.y0); e <= std::ceil(f.y1); e += 1.0) {
            for (double m : few ? std::vector<double>{1, 2, 5} : std::vector<double>{1}) {
                const double t = e + std::log10(m);
                if (t >= f.y0 && t <= f.y1) yt.push_back(t);
            }
        }
    }
    for (double t : yt) {
        const long y = f.py(t);
        img.draw_line(f.left - 4, y, f.left, y, kBlack);
        img.draw_line(f.left + 1, y, f.right - 1, y, {235, 235, 235});  // light grid line
        const std::string label = detail::tick_label(log_y ? std::pow(10.0, t) : t);
        img.draw_text(f.left - 6 - text_width(label), y - 3, label, kBlack);
    }
}

}  // namespace

Image line_plot(const std::vector<Series>& series, const LinePlotOptions& opt) {
    const Bounds b = data_bounds(series, opt.log_y);
    Image img(opt.width, opt.height);
    const long title_space = opt.title.empty() ? 8 : 20;
    const long bottom_space = opt.x_label.empty() ? 22 : 34;
    const detail::Frame f{b.x0, b.x1, b.y0, b.y1, 60, title_space, long(opt.width) - 12, long(opt.height) - bottom_space};
    if (f.right - f.left < 20 || f.bottom - f.top < 20) throw ValueError("line_plot", "image too small for axes");
    draw_axes(img, f, opt.log_y);
    for (std::size_t k = 0; k < series.size(); ++k) {
        const Series& s = series[k];
        const Rgb c = detail::kPalette[k % detail::kPalette.size()];
        bool have_prev = false;
        long px = 0, py = 0;
        for (std::size_t i = 0; i < s.x.size(); ++i) {
            const double y = opt.log_y ? std::log10(s.y[i]) : s.y[i];
            if (!std::isfinite(y) || !std::isfinite(s.x[i])) {
                have_prev = false;  // a gap, not a line through the missing point
                continue;
            }
            const long x1 = f.px(s.x[i]), y1 = f.py(y);
            if (have_prev) img.draw_line(px, py, x1, y1, c);
            else img.plot(x1, y1, c);
            px = x1, py = y1, have_prev = true;
        }
        // Legend, top right inside the box: a colour swatch and the label.
        const long ly = f.top + 6 + 12 * long(k);
        const long lx = f.right - 8 - text_width(s.label) - 16;
        img.fill_rect(lx, ly + 1, lx + 10, ly + 5, c);
        img.draw_text(lx + 14, ly, s.label, kBlack);
    }
    if (!opt.title.empty()) img.draw_text(f.left, 6, opt.title, kBlack);
    if (!opt.x_label.empty()) {
        img.draw_text((f.left + f.right - text_width(opt.x_label)) / 2, long(opt.height) - 12, opt.x_label, kBlack);
    }
    return img;
}

}  // namespace odenet::util
