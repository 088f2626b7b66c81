#include "odenet/stiff_kinetics/figures.hpp"

#include <algorithm>

#include "odenet/core/error.hpp"
#include "odenet/util/plot.hpp"

namespace odenet::stiff_kinetics {

namespace {

constexpr double kY2Factor = 1e4;  // the customary scaling of y2 in plots of Robertson's problem
const util::Rgb kColours[3] = {{31, 119, 180}, {214, 39, 40}, {44, 160, 44}};

// A colour mixed with white: the initial guess's curves, under the fit's.
util::Rgb light(util::Rgb c) {
    const auto mix = [](std::uint8_t v) { return std::uint8_t(v + (255 - v) * 55 / 100); };
    return {mix(c.r), mix(c.g), mix(c.b)};
}

constexpr const char* kSpecies[3] = {"y1", "y2 x 1e4", "y3"};
std::string species_label(std::size_t s) { return kSpecies[s]; }

util::Series species(const std::string& label, const std::vector<double>& ts, const Tensor<double>& ys, std::size_t s) {
    if (ys.dimension() != 2 || ys.shape()[0] != ts.size() || ys.shape()[1] != 3)
        throw ShapeError("stiff_kinetics figures", "species curves " + shape_str(ys.shape()) + " for " + std::to_string(ts.size()) + " times");
    util::Series out{.label = label};
    for (std::size_t i = 0; i < ts.size(); ++i) out.x.push_back(ts[i]), out.y.push_back(ys(i, s) * (s == 1 ? kY2Factor : 1.0));
    return out;
}

}  // namespace

void save_fit_figure(const std::string& path, const Dataset& data, const Curve& start, const Curve& fit) {
    std::vector<util::Series> all;
    for (std::size_t s = 0; s < 3; ++s) {
        util::Series guess = species("", start.ts, start.ys, s);  // one legend entry per species: the fit's
        guess.color = light(kColours[s]);
        all.push_back(std::move(guess));
    }
    for (std::size_t s = 0; s < 3; ++s) {
        util::Series curve = species(species_label(s), fit.ts, fit.ys, s);
        curve.color = kColours[s];
        all.push_back(std::move(curve));
    }
    for (std::size_t s = 0; s < 3; ++s) {
        util::Series points = species("", data.ts, data.observed, s);
        points.color = kColours[s], points.markers = true;
        all.push_back(std::move(points));
    }
    util::line_plot(all, {.width = 900,
                          .height = 520,
                          .title = "Robertson kinetics: data (squares), initial guess (light lines), fit (dark lines), y2 scaled by 1e4",
                          .x_label = "t (log scale)",
                          .log_x = true})
        .save_png(path);
}

void save_rates_figure(const std::string& path, const std::vector<Rates>& rates, const Rates& truth, double first_iteration) {
    std::vector<util::Series> all;
    for (std::size_t i = 0; i < 3; ++i) {
        util::Series s{.label = std::string(kRateNames[i]) + " / true", .color = kColours[i]};
        for (std::size_t it = 0; it < rates.size(); ++it) s.x.push_back(first_iteration + double(it)), s.y.push_back(rates[it][i] / truth[i]);
        all.push_back(std::move(s));
    }
    util::Series one{.label = "1 (truth)", .color = util::kGrey};
    if (!rates.empty()) one.x = {first_iteration, first_iteration + double(rates.size() - 1)}, one.y = {1.0, 1.0};
    all.push_back(std::move(one));
    util::line_plot(all, {.width = 720, .height = 420, .log_y = true, .title = "recovered rate / true rate (log scale)", .x_label = "iteration"})
        .save_png(path);
}

void save_loss_figure(const std::string& path, const std::vector<double>& losses, double true_loss) {
    util::Series loss{.label = "loss"}, floor{.label = "loss at the true rates", .color = util::kGrey};
    for (std::size_t it = 0; it < losses.size(); ++it) loss.x.push_back(double(it + 1)), loss.y.push_back(losses[it]);
    if (!losses.empty()) floor.x = {1.0, double(losses.size())}, floor.y = {true_loss, true_loss};
    util::line_plot({loss, floor}, {.width = 720, .height = 420, .log_y = true, .title = "training loss (weighted least squares, log scale)",
                                    .x_label = "iteration"})
        .save_png(path);
}

}  // namespace odenet::stiff_kinetics
