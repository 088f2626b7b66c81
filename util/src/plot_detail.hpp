#pragma once
// Shared by plot.cpp and line_plot.cpp: the data-to-pixel frame, the series palette, tick labels.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <string>

#include "odenet/util/png_image.hpp"

namespace odenet::util::detail {

// matplotlib's tab10 colours, for the series of a line plot.
inline constexpr std::array<Rgb, 6> kPalette = {{{31, 119, 180}, {255, 127, 14}, {44, 160, 44},
                                                 {214, 39, 40}, {148, 103, 189}, {140, 86, 75}}};

// Maps data coordinates onto the pixel rectangle [left, right] x [top, bottom] (y upwards).
struct Frame {
    double x0, x1, y0, y1;
    long left, top, right, bottom;
    long px(double x) const { return left + to_pixel((x - x0) / (x1 - x0) * double(right - left)); }
    long py(double y) const { return bottom - to_pixel((y - y0) / (y1 - y0) * double(bottom - top)); }
    // Far-away values (a diverged sample at 1e300) saturate instead of overflowing lround;
    // callers skip non-finite values before mapping them.
    static long to_pixel(double v) { return std::lround(std::clamp(v, -1e9, 1e9)); }
};

inline std::string tick_label(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g", std::abs(v) < 1e-12 ? 0.0 : v);
    return buf;
}

}  // namespace odenet::util::detail
