#include "odenet/hamiltonian/figures.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "odenet/core/error.hpp"
#include "odenet/util/plot.hpp"
#include "odenet/util/png_image.hpp"

namespace odenet::hamiltonian {

namespace {

constexpr std::size_t kPanelWidth = 560, kPanelHeight = 480;

// Copies src into dst with its top-left corner at (x0, y0).
void paste(util::Image& dst, const util::Image& src, long x0, long y0) {
    for (std::size_t y = 0; y < src.height(); ++y)
        for (std::size_t x = 0; x < src.width(); ++x) dst.plot(x0 + long(x), y0 + long(y), src.pixel(x, y));
}

void save_panels(const std::string& path, const std::vector<util::Image>& images) {
    if (images.empty()) throw ValueError("hamiltonian figures", "no panels");
    util::Image out(kPanelWidth * images.size(), kPanelHeight);
    for (std::size_t i = 0; i < images.size(); ++i) paste(out, images[i], long(i * kPanelWidth), 0);
    out.save_png(path);
}

// The first state's trajectory as a series: x = q, y = p (phase) or x = t, y = H (energy). Phase
// points outside ±`clip` are left out (a gap), so that a rollout spiralling away does not shrink
// the others to a dot.
util::Series series(const std::string& label, System s, const std::vector<double>& ts, const Tensor<double>& ys, bool energy_vs_time,
                    double clip) {
    util::Series out{.label = label};
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (std::size_t i = 0; i < ts.size(); ++i) {
        const double q = ys(i, 0, 0), p = ys(i, 0, 1);
        const bool inside = std::abs(q) <= clip && std::abs(p) <= clip;
        out.x.push_back(energy_vs_time ? ts[i] : inside ? q : nan);
        out.y.push_back(energy_vs_time ? energy(s, q, p) : inside ? p : nan);
    }
    return out;
}

// The model rollouts first (the MLP beneath the others), the truth last, on top. The exact-H
// reference rollouts are left out: at these tolerances they are the truth.
util::Image panel_image(const Panel& panel, bool energy_vs_time) {
    double extent = 0;
    for (std::size_t i = 0; i < panel.ts.size(); ++i)
        extent = std::max({extent, std::abs(panel.truth(i, 0, 0)), std::abs(panel.truth(i, 0, 1))});
    const double clip = 1.5 * extent;
    std::vector<util::Series> all;
    for (int pass = 0; pass < 2; ++pass)
        for (const Rollout& r : panel.rollouts)
            if (r.model != "exact H" && (r.model == "MLP") == (pass == 0))
                all.push_back(series(r.model + " (" + r.method + ")", panel.system, panel.ts, r.ys, energy_vs_time, clip));
    all.push_back(series("true", panel.system, panel.ts, panel.truth, energy_vs_time, clip));
    double lo = std::numeric_limits<double>::infinity(), hi = 0;
    for (const util::Series& sr : all)
        for (double v : sr.y)
            if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    const bool log_y = energy_vs_time && lo > 0 && hi > 10 * lo;  // a drift over decades: the others stay visible
    const std::string name = system_name(panel.system);
    const std::string title = energy_vs_time ? name + ": true energy H along each rollout, held-out state 1" + (log_y ? " (log scale)" : "")
                                             : name + ": (q, p), held-out state 1, cut at 1.5x the true extent";
    return util::line_plot(all, {.width = kPanelWidth, .height = kPanelHeight, .log_y = log_y, .title = title,
                                 .x_label = energy_vs_time ? "t" : "q (vertical: p)"});
}

}  // namespace

Metrics measure(System s, const Tensor<double>& ys, const Tensor<double>& truth, const std::vector<double>& ts, double period) {
    if (ys.shape() != truth.shape() || ys.dimension() != 3 || ys.shape()[0] != ts.size())
        throw ShapeError("measure", "rollout " + shape_str(ys.shape()) + " against truth " + shape_str(truth.shape()));
    const std::size_t n = ts.size(), k = ys.shape()[1];
    Metrics m;
    for (std::size_t j = 0; j < k; ++j) {
        const double e0 = energy(s, truth(0, j, 0), truth(0, j, 1));
        double worst = 0, err_first = 0, err_all = 0;
        std::size_t count_first = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const double q = ys(i, j, 0), p = ys(i, j, 1);
            const double drift = std::abs(energy(s, q, p) - e0) / e0;
            worst = std::isfinite(drift) ? std::max(worst, drift) : std::numeric_limits<double>::quiet_NaN();
            const double err = std::hypot(q - truth(i, j, 0), p - truth(i, j, 1));
            err_all += err;
            if (ts[i] - ts[0] <= period) err_first += err, ++count_first;
        }
        m.drift_end += std::abs(energy(s, ys(n - 1, j, 0), ys(n - 1, j, 1)) - e0) / e0 / double(k);
        m.drift_max += worst / double(k);
        m.error_first_period += err_first / double(count_first) / double(k);
        m.error_mean += err_all / double(n) / double(k);
    }
    return m;
}

void save_phase_figure(const std::string& path, const std::vector<Panel>& panels) {
    std::vector<util::Image> images;
    for (const Panel& p : panels) images.push_back(panel_image(p, false));
    save_panels(path, images);
}

void save_energy_figure(const std::string& path, const std::vector<Panel>& panels) {
    std::vector<util::Image> images;
    for (const Panel& p : panels) images.push_back(panel_image(p, true));
    save_panels(path, images);
}

void save_loss_figure(const std::string& path, const std::vector<Curve>& curves) {
    std::vector<util::Series> all;
    for (const Curve& c : curves) {
        util::Series s{.label = c.label};
        for (std::size_t k = 0; k < c.y.size(); ++k) s.x.push_back(double(k + 1)), s.y.push_back(c.y[k]);
        all.push_back(std::move(s));
    }
    util::line_plot(all, {.width = 720, .height = 420, .log_y = true, .title = "training loss: MSE of (dq/dt, dp/dt), full batch", .x_label = "iteration"})
        .save_png(path);
}

}  // namespace odenet::hamiltonian
