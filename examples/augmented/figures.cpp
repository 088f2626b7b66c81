#include "odenet/augmented/figures.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "odenet/core/error.hpp"
#include "odenet/util/plot.hpp"
#include "odenet/util/png_image.hpp"

namespace odenet::augmented {

namespace {

using util::Image;
using util::Rgb;

constexpr Rgb kInner{214, 39, 40}, kOuter{31, 119, 180}, kFrame{190, 190, 190};
constexpr long kTitle = 26, kCaption = 16;

// The unit vector along v; v itself if it is zero.
std::vector<double> unit(std::vector<double> v) {
    double n = 0;
    for (double x : v) n += x * x;
    n = std::sqrt(n);
    if (n > 0)
        for (double& x : v) x /= n;
    return v;
}

// The leading eigenvector of the covariance of rows r(i) (each q wide), by power iteration: q is
// at most a few dozen, and 200 iterations settle far beyond what a picture can show.
std::vector<double> principal_direction(const std::vector<std::vector<double>>& r, std::size_t q) {
    std::vector<double> mean(q, 0.0);
    for (const auto& row : r)
        for (std::size_t j = 0; j < q; ++j) mean[j] += row[j] / double(r.size());
    std::vector<std::vector<double>> cov(q, std::vector<double>(q, 0.0));
    for (const auto& row : r)
        for (std::size_t i = 0; i < q; ++i)
            for (std::size_t j = 0; j < q; ++j) cov[i][j] += (row[i] - mean[i]) * (row[j] - mean[j]);
    std::vector<double> v(q);
    for (std::size_t j = 0; j < q; ++j) v[j] = 1.0 + 0.1 * double(j);  // not orthogonal to any eigenvector in practice
    for (int it = 0; it < 200; ++it) {
        std::vector<double> next(q, 0.0);
        for (std::size_t i = 0; i < q; ++i)
            for (std::size_t j = 0; j < q; ++j) next[i] += cov[i][j] * v[j];
        v = unit(next);
    }
    return v;
}

// Data coordinates onto a square panel with its top-left corner at (x0, y0). With `equal`, both
// axes at the same scale, so that a circle stays a circle; without, each axis fits its data (the
// score and spread axes of project() have unrelated units).
struct Panel {
    long x0, y0, size;
    double cx, cy, hx, hy;  // data centre and half-widths shown
    long px(double x) const { return x0 + std::lround((x - cx + hx) / (2 * hx) * double(size - 1)); }
    long py(double y) const { return y0 + std::lround((cy + hy - y) / (2 * hy) * double(size - 1)); }
};

Panel panel_for(const std::vector<double>& xs, const std::vector<double>& ys, long x0, long y0, long size, bool equal) {
    double lx = std::numeric_limits<double>::infinity(), hx = -lx, ly = lx, hy = -lx;
    for (std::size_t i = 0; i < xs.size(); ++i)
        if (std::isfinite(xs[i]) && std::isfinite(ys[i]))
            lx = std::min(lx, xs[i]), hx = std::max(hx, xs[i]), ly = std::min(ly, ys[i]), hy = std::max(hy, ys[i]);
    if (!(lx <= hx)) lx = ly = -1, hx = hy = 1;
    double half_x = 0.55 * std::max(hx - lx, 1e-9), half_y = 0.55 * std::max(hy - ly, 1e-9);
    if (equal) half_x = half_y = std::max(half_x, half_y);
    return {x0, y0, size, (lx + hx) / 2, (ly + hy) / 2, half_x, half_y};
}

void draw_points(Image& img, const Panel& f, const std::vector<double>& xs, const std::vector<double>& ys,
                 const std::vector<double>& label) {
    for (std::size_t i = 0; i < xs.size(); ++i) {
        if (!std::isfinite(xs[i]) || !std::isfinite(ys[i])) continue;
        const long x = f.px(xs[i]), y = f.py(ys[i]);
        img.fill_rect(x - 1, y - 1, x + 1, y + 1, label[i] < 0 ? kInner : kOuter, 0.6);
    }
}

}  // namespace

Projection project(const FlowPanel& panel) {
    const std::size_t n = panel.h1.shape()[0], q = panel.h1.shape()[1];
    if (panel.w.size() != q || panel.label.size() != n)
        throw ShapeError("project", "h1 " + shape_str(panel.h1.shape()) + " with " + std::to_string(panel.w.size()) +
                                        " weights and " + std::to_string(panel.label.size()) + " labels");
    const std::vector<double> w = unit(panel.w);
    Projection out;
    std::vector<std::vector<double>> rest(n, std::vector<double>(q));
    for (std::size_t i = 0; i < n; ++i) {
        double s = panel.b, along = 0;
        for (std::size_t j = 0; j < q; ++j) s += panel.w[j] * panel.h1(i, j), along += w[j] * panel.h1(i, j);
        out.score.push_back(s);
        for (std::size_t j = 0; j < q; ++j) rest[i][j] = panel.h1(i, j) - along * w[j];  // h with its w part removed
    }
    const std::vector<double> u = principal_direction(rest, q);
    for (std::size_t i = 0; i < n; ++i) {
        double y = 0;
        for (std::size_t j = 0; j < q; ++j) y += u[j] * rest[i][j];
        out.spread.push_back(y);
    }
    return out;
}

void save_flow_figure(const std::string& path, const std::vector<FlowPanel>& panels, std::size_t size) {
    if (panels.empty()) throw ValueError("save_flow_figure", "no panels");
    const long s = long(size), row_h = s + kTitle;
    Image img(3 * size, std::size_t(kCaption + row_h * long(panels.size()) + 4));
    img.draw_text(6, 5, "red: disc (label -1), blue: ring (+1). grey line: boundary of the linear map (score = 0)", util::kBlack);
    for (std::size_t k = 0; k < panels.size(); ++k) {
        const FlowPanel& fp = panels[k];
        const long top = kCaption + long(k) * row_h;
        std::vector<double> x1, x2, h1, h2;
        for (std::size_t i = 0; i < fp.x0.shape()[0]; ++i)
            x1.push_back(fp.x0(i, 0)), x2.push_back(fp.x0(i, 1)), h1.push_back(fp.h1(i, 0)), h2.push_back(fp.h1(i, 1));
        const Projection pr = project(fp);
        char title[3][96];
        std::snprintf(title[0], sizeof title[0], "p = %zu: inputs (x1, x2)", fp.p);
        std::snprintf(title[1], sizeof title[1], "t = 1: (h1, h2)%s", fp.p > 0 ? ", first 2 of 2 + p" : "");
        std::snprintf(title[2], sizeof title[2], "t = 1: score (x) vs spread, acc %.1f%%", 100 * fp.accuracy);
        const std::vector<double>* xs[3] = {&x1, &h1, &pr.score};
        const std::vector<double>* ys[3] = {&x2, &h2, &pr.spread};
        for (long c = 0; c < 3; ++c) {
            img.draw_text(c * s + 8, top + 8, title[c], util::kBlack);
            img.draw_rect(c * s + 2, top + kTitle - 2, (c + 1) * s - 3, top + row_h - 3, kFrame);
            const Panel f = panel_for(*xs[c], *ys[c], c * s + 4, top + kTitle, s - 8, /*equal=*/c < 2);
            if (c == 2) img.draw_line(f.px(0), top + kTitle, f.px(0), top + row_h - 5, util::kGrey);
            draw_points(img, f, *xs[c], *ys[c], fp.label);
        }
    }
    img.save_png(path);
}

void save_curves(const std::string& path, const std::string& title, const std::vector<Curve>& curves, std::size_t smooth,
                 bool log_y) {
    smooth = std::max<std::size_t>(smooth, 1);
    std::vector<util::Series> series;
    for (const Curve& c : curves) {
        util::Series s{.label = "p = " + std::to_string(c.p)};
        double window = 0;
        for (std::size_t k = 0; k < c.y.size(); ++k) {
            window += c.y[k];
            if (k >= smooth) window -= c.y[k - smooth];
            s.x.push_back(double(k + 1));
            s.y.push_back(window / double(std::min(k + 1, smooth)));
        }
        series.push_back(std::move(s));
    }
    const std::string shown = smooth > 1 ? title + " (running mean of " + std::to_string(smooth) + " iterations)" : title;
    util::line_plot(series, {.width = 720, .height = 420, .log_y = log_y, .title = shown, .x_label = "iteration"}).save_png(path);
}

}  // namespace odenet::augmented
