#include "odenet/cde/figures.hpp"

#include <algorithm>
#include <cmath>

#include "odenet/autodiff/ops.hpp"
#include "odenet/core/error.hpp"
#include "odenet/util/plot.hpp"
#include "odenet/util/png_image.hpp"

namespace odenet::cde {

namespace {

using util::Image;
using util::Rgb;

constexpr Rgb kClean{230, 85, 13}, kDot{20, 20, 20}, kFrame{190, 190, 190};
constexpr long kPanel = 300, kTitle = 24, kMargin = 10;
constexpr double kHalfWidth = 1.9;  // data shown: [-1.9, 1.9]² (radius <= 1.2 plus noise 0.3 x 2)
constexpr int kDense = 600;         // points where the spline is drawn

struct Panel {
    long x0, y0;
    long px(double x) const { return x0 + std::lround((x + kHalfWidth) / (2 * kHalfWidth) * double(kPanel - 1)); }
    long py(double y) const { return y0 + std::lround((kHalfWidth - y) / (2 * kHalfWidth) * double(kPanel - 1)); }
    bool inside(long x, long y) const { return x >= x0 && x < x0 + kPanel && y >= y0 && y < y0 + kPanel; }
};

void line(Image& img, const Panel& p, double xa, double ya, double xb, double yb, Rgb c, double alpha = 1.0) {
    const long ax = p.px(xa), ay = p.py(ya), bx = p.px(xb), by = p.py(yb);
    if (p.inside(ax, ay) && p.inside(bx, by)) img.draw_line(ax, ay, bx, by, c, alpha);
}

}  // namespace

void save_paths_figure(const std::string& path, const Spirals& shown, const nn::CubicPath& X) {
    const std::size_t count = std::min<std::size_t>(shown.labels.size(), 8);
    if (count == 0) throw ValueError("cde figures", "no spiral to draw");
    const std::size_t cols = (count + 1) / 2, rows = count > 1 ? 2 : 1;
    Image img(std::size_t(kMargin + long(cols) * (kPanel + kMargin)),
              std::size_t(kMargin + long(rows) * (kPanel + kTitle + kMargin)));
    // The spline, densely, once for all panels: X(t) is (batch, 3) = (t, x, y).
    std::vector<Tensor<double>> dense;
    for (int k = 0; k < kDense; ++k) {
        const double t = X.t0() + (X.t1() - X.t0()) * double(k) / double(kDense - 1);
        dense.push_back(to_dtype(X.evaluate(t), Dtype::float64).value<double>());
    }
    const std::size_t n = shown.times.size();
    for (std::size_t i = 0; i < count; ++i) {
        const Panel p{kMargin + long(i % cols) * (kPanel + kMargin), kMargin + long(i / cols) * (kPanel + kTitle + kMargin) + kTitle};
        img.draw_text(p.x0, p.y0 - kTitle + 6, shown.labels[i] == 1 ? "counter-clockwise" : "clockwise", kDot, 2);
        img.draw_rect(p.x0 - 1, p.y0 - 1, p.x0 + kPanel, p.y0 + kPanel, kFrame);
        for (int k = 0; k + 1 < kDense; ++k)
            line(img, p, dense[k](i, 1), dense[k](i, 2), dense[k + 1](i, 1), dense[k + 1](i, 2),
                 util::viridis(0.85 * double(k) / double(kDense - 1)), 0.6);
        for (std::size_t j : shown.kept[i]) {
            const long x = p.px(shown.values(i, j, 0)), y = p.py(shown.values(i, j, 1));
            if (p.inside(x - 1, y - 1) && p.inside(x + 1, y + 1)) img.fill_rect(x - 1, y - 1, x + 1, y + 1, kDot);
        }
        // The noise-free spiral on top, so that the direction the label names can be seen.
        for (std::size_t j = 0; j + 1 < n; ++j)
            line(img, p, shown.clean(i, j, 0), shown.clean(i, j, 1), shown.clean(i, j + 1, 0), shown.clean(i, j + 1, 1), kClean);
        const long sx = p.px(shown.clean(i, 0, 0)), sy = p.py(shown.clean(i, 0, 1));  // where it starts, at t = 0
        img.fill_rect(sx - 3, sy - 3, sx + 3, sy + 3, kClean);
    }
    img.save_png(path);
}

void save_curves(const std::string& path, const std::string& title, const std::vector<Curve>& curves, bool log_y) {
    std::vector<util::Series> series;
    for (const Curve& c : curves) {
        util::Series s{.label = c.label};
        for (std::size_t e = 0; e < c.values.size(); ++e) s.x.push_back(double(e + 1)), s.y.push_back(c.values[e]);
        series.push_back(std::move(s));
    }
    util::line_plot(series, {.log_y = log_y, .title = title, .x_label = "epoch"}).save_png(path);
}

}  // namespace odenet::cde
