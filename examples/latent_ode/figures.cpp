#include "odenet/latent_ode/figures.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "odenet/util/png_image.hpp"

namespace odenet::latent_ode {

namespace {

using util::Image;
using util::Rgb;

constexpr Rgb kGrey{170, 170, 170}, kBlue{31, 119, 180}, kRed{214, 39, 40}, kOrange{255, 127, 14};
constexpr long kTitle = 24;  // pixels of the title strip

// Maps data coordinates into a square panel at (x0, y0) with a margin, equal scales on both axes
// so that a spiral keeps its shape.
struct Frame {
    long x0, y0, size;
    double cx, cy, half;  // data centre and half-width shown
    long px(double x) const { return x0 + long(std::lround((x - cx + half) / (2 * half) * double(size - 1))); }
    long py(double y) const { return y0 + long(std::lround((cy + half - y) / (2 * half) * double(size - 1))); }
};

Frame fit(const std::vector<const std::vector<double>*>& xs, const std::vector<const std::vector<double>*>& ys, long x0, long y0,
          long size) {
    double lo_x = std::numeric_limits<double>::infinity(), hi_x = -lo_x, lo_y = lo_x, hi_y = -lo_x;
    for (const auto* v : xs)
        for (double x : *v)
            if (std::isfinite(x)) lo_x = std::min(lo_x, x), hi_x = std::max(hi_x, x);
    for (const auto* v : ys)
        for (double y : *v)
            if (std::isfinite(y)) lo_y = std::min(lo_y, y), hi_y = std::max(hi_y, y);
    if (!(lo_x <= hi_x)) lo_x = -1, hi_x = 1;
    if (!(lo_y <= hi_y)) lo_y = -1, hi_y = 1;
    const double half = 0.55 * std::max({hi_x - lo_x, hi_y - lo_y, 1e-9});
    return {x0, y0, size, (lo_x + hi_x) / 2, (lo_y + hi_y) / 2, half};
}

void polyline(Image& img, const Frame& f, const std::vector<double>& x, const std::vector<double>& y, Rgb c, double alpha = 1.0) {
    for (std::size_t i = 1; i < x.size() && i < y.size(); ++i)
        if (std::isfinite(x[i - 1] + y[i - 1] + x[i] + y[i])) img.draw_line(f.px(x[i - 1]), f.py(y[i - 1]), f.px(x[i]), f.py(y[i]), c, alpha);
}

void dots(Image& img, const Frame& f, const std::vector<double>& x, const std::vector<double>& y, Rgb c, long r) {
    for (std::size_t i = 0; i < x.size() && i < y.size(); ++i)
        if (std::isfinite(x[i] + y[i])) img.fill_rect(f.px(x[i]) - r, f.py(y[i]) - r, f.px(x[i]) + r, f.py(y[i]) + r, c);
}

}  // namespace

void save_spiral_figure(const std::string& path, const std::string& title, const std::vector<SpiralPanel>& panels,
                        std::size_t columns, std::size_t size) {
    const std::size_t rows = (panels.size() + columns - 1) / columns;
    Image img(columns * size, rows * size + std::size_t(kTitle) + 14);
    img.draw_text(8, 8, title, util::kBlack);
    for (std::size_t k = 0; k < panels.size(); ++k) {
        const SpiralPanel& p = panels[k];
        const long x0 = long((k % columns) * size), y0 = kTitle + long((k / columns) * size), s = long(size);
        img.draw_rect(x0 + 2, y0 + 2, x0 + s - 3, y0 + s - 3, kGrey);
        const Frame f = fit({&p.true_x, &p.seen_x, &p.recon_x, &p.extra_x}, {&p.true_y, &p.seen_y, &p.recon_y, &p.extra_y}, x0 + 4, y0 + 4, s - 8);
        polyline(img, f, p.true_x, p.true_y, kGrey);
        polyline(img, f, p.recon_x, p.recon_y, kBlue);
        polyline(img, f, p.extra_x, p.extra_y, kRed);
        dots(img, f, p.seen_x, p.seen_y, util::kBlack, 2);
    }
    // The legend, under the panels.
    const long ly = long(img.height()) - 10;
    long lx = 8;
    const std::pair<Rgb, const char*> items[] = {{kGrey, "true trajectory"}, {util::kBlack, "observed"},
                                                 {kBlue, "reconstruction"}, {kRed, "extrapolation"}};
    for (const auto& [c, text] : items) {
        img.fill_rect(lx, ly - 1, lx + 12, ly + 2, c);
        lx += 18 + img.draw_text(lx + 18, ly - 3, text, util::kBlack) + 16;
    }
    img.save_png(path);
}

void save_latent_figure(const std::string& path, const std::string& title, const Tensor<double>& paths,
                        const std::vector<int>& group, std::size_t observed_steps, std::size_t size) {
    const std::size_t steps = paths.shape()[0], count = paths.shape()[1];
    std::vector<std::vector<double>> xs(count), ys(count);
    for (std::size_t i = 0; i < count; ++i)
        for (std::size_t t = 0; t < steps; ++t) xs[i].push_back(paths(t, i, 0)), ys[i].push_back(paths(t, i, 1));
    std::vector<const std::vector<double>*> all_x, all_y;
    for (std::size_t i = 0; i < count; ++i) all_x.push_back(&xs[i]), all_y.push_back(&ys[i]);
    Image img(size, size + std::size_t(kTitle) + 14);
    img.draw_text(8, 8, title, util::kBlack);
    const Frame f = fit(all_x, all_y, 4, kTitle, long(size) - 8);
    for (std::size_t i = 0; i < count; ++i) {
        const Rgb c = group[i] ? kOrange : kBlue;
        const std::size_t split = std::min(observed_steps, steps);
        const std::vector<double> in_x(xs[i].begin(), xs[i].begin() + long(split)), in_y(ys[i].begin(), ys[i].begin() + long(split));
        const std::vector<double> out_x(xs[i].begin() + long(split ? split - 1 : 0), xs[i].end());
        const std::vector<double> out_y(ys[i].begin() + long(split ? split - 1 : 0), ys[i].end());
        polyline(img, f, in_x, in_y, c);
        polyline(img, f, out_x, out_y, c, 0.35);
        dots(img, f, {xs[i][0]}, {ys[i][0]}, util::kBlack, 1);
    }
    const long ly = long(img.height()) - 10;
    long lx = 8;
    img.fill_rect(lx, ly - 1, lx + 12, ly + 2, kOrange);
    lx += 18 + img.draw_text(lx + 18, ly - 3, "clockwise", util::kBlack) + 16;
    img.fill_rect(lx, ly - 1, lx + 12, ly + 2, kBlue);
    img.draw_text(lx + 18, ly - 3, "counter-clockwise (z1 against z0, faint: extrapolated)", util::kBlack);
    img.save_png(path);
}

}  // namespace odenet::latent_ode
