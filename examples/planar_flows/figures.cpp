// Panel layouts for the planar-flow figures. See figures.hpp.
#include "planar_flows/figures.hpp"

#include <algorithm>
#include <cmath>

#include "odenet/core/error.hpp"

namespace odenet::planar_flows {

namespace {

constexpr long kGap = 6, kTitle = 18, kRowTitle = 48;

void paste(util::Image& dst, const util::Image& src, long x0, long y0) {
    for (std::size_t y = 0; y < src.height(); ++y)
        for (std::size_t x = 0; x < src.width(); ++x) dst.plot(x0 + long(x), y0 + long(y), src.pixel(x, y));
}

}  // namespace

util::Image density_panel(const Tensor<double>& log_p, std::size_t n, std::size_t size) {
    if (log_p.size() != n * n)
        throw ShapeError("density_panel", "expects " + std::to_string(n * n) + " log-densities, got " + std::to_string(log_p.size()));
    Tensor<double> density = Tensor<double>::from_shape({n, n});
    for (std::size_t i = 0; i < n * n; ++i) density.data()[i] = std::exp(log_p.data()[i]);
    return util::heatmap(density, std::max<std::size_t>(1, size / n));
}

util::Image panel_grid(const std::vector<std::vector<util::Image>>& rows, const std::vector<std::string>& column_titles,
                       const std::vector<std::string>& row_titles) {
    if (rows.empty() || rows[0].empty()) throw ValueError("panel_grid", "no panels");
    if (row_titles.size() != rows.size() || column_titles.size() != rows[0].size())
        throw ValueError("panel_grid", "the titles do not match the panels");
    const long w = long(rows[0][0].width()), h = long(rows[0][0].height()), columns = long(rows[0].size());
    util::Image out(std::size_t(kRowTitle + columns * (w + kGap)), std::size_t(kTitle + long(rows.size()) * (h + kGap)));
    for (long c = 0; c < columns; ++c)
        out.draw_text(kRowTitle + c * (w + kGap) + 2, 4, column_titles[std::size_t(c)], util::kBlack, 1);
    for (std::size_t r = 0; r < rows.size(); ++r) {
        if (long(rows[r].size()) != columns) throw ValueError("panel_grid", "row " + std::to_string(r) + " is ragged");
        const long y = kTitle + long(r) * (h + kGap);
        out.draw_text(4, y + h / 2 - 4, row_titles[r], util::kBlack, 2);
        for (long c = 0; c < columns; ++c) {
            const util::Image& panel = rows[r][std::size_t(c)];
            if (long(panel.width()) != w || long(panel.height()) != h)
                throw ValueError("panel_grid", "panels differ in size");
            paste(out, panel, kRowTitle + c * (w + kGap), y);
        }
    }
    return out;
}

util::Image stack_vertically(const std::vector<util::Image>& images) {
    std::size_t width = 0, height = 0;
    for (const util::Image& im : images) {
        width = std::max(width, im.width());
        height += im.height();
    }
    util::Image out(std::max<std::size_t>(width, 1), std::max<std::size_t>(height, 1));
    long y = 0;
    for (const util::Image& im : images) {
        paste(out, im, 0, y);
        y += long(im.height());
    }
    return out;
}

}  // namespace odenet::planar_flows
