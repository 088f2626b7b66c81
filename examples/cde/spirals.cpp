#include "odenet/cde/spirals.hpp"

#include <cmath>
#include <limits>
#include <numbers>
#include <string>

#include "odenet/core/error.hpp"
#include "odenet/autodiff/ops.hpp"
#include "odenet/core/random.hpp"

namespace odenet::cde {

namespace {

void check(const SpiralOptions& o) {
    auto bad = [](const std::string& what) { throw ValueError("spirals", what); };
    if (o.count < 2) bad("count must be >= 2, got " + std::to_string(o.count));
    if (o.points < 2) bad("points must be >= 2, got " + std::to_string(o.points));
    if (!(o.duration > 0) || !std::isfinite(o.duration)) bad("duration must be finite and > 0");
    if (!(o.drop >= 0 && o.drop < 1)) bad("drop must be in [0, 1), got " + std::to_string(o.drop));
    const auto dropped = static_cast<std::size_t>(std::lround(o.drop * double(o.points)));
    if (o.points - dropped < 2) bad("--drop " + std::to_string(o.drop) + " leaves fewer than 2 of --points " + std::to_string(o.points));
    if (!(o.omega_lo >= 0 && o.omega_lo <= o.omega_hi && std::isfinite(o.omega_hi))) bad("omega range must satisfy 0 <= lo <= hi < inf");
    if (!(o.r0_lo >= 0 && o.r0_lo <= o.r0_hi && std::isfinite(o.r0_hi))) bad("r0 range must satisfy 0 <= lo <= hi < inf");
    if (!(o.decay >= 0) || !std::isfinite(o.decay)) bad("decay must be finite and >= 0");
    if (!(o.noise >= 0) || !std::isfinite(o.noise)) bad("noise must be finite and >= 0");
}

}  // namespace

Spirals make_spirals(const SpiralOptions& o, std::uint64_t seed) {
    check(o);
    Generator gen(seed);
    Spirals s;
    const std::size_t n = o.points;
    for (std::size_t j = 0; j < n; ++j) s.times.push_back(double(j) * o.duration / double(n - 1));
    s.values = Tensor<double>::from_shape({o.count, n, 2});
    s.clean = Tensor<double>::from_shape({o.count, n, 2});
    const auto dropped = static_cast<std::size_t>(std::lround(o.drop * double(n)));
    for (std::size_t b = 0; b < o.count; ++b) {
        const double u = gen.uniform();
        const std::size_t label = u < 0.5 ? 1 : 0;
        const double sign = label == 1 ? 1.0 : -1.0;
        const double theta0 = 2 * std::numbers::pi * gen.uniform();
        const double omega = o.omega_lo + (o.omega_hi - o.omega_lo) * gen.uniform();
        const double r0 = o.r0_lo + (o.r0_hi - o.r0_lo) * gen.uniform();
        s.labels.push_back(label);
        for (std::size_t j = 0; j < n; ++j) {
            const double t = s.times[j], r = r0 * std::exp(-o.decay * t), th = theta0 + sign * omega * t;
            s.clean(b, j, 0) = r * std::cos(th);
            s.clean(b, j, 1) = r * std::sin(th);
            s.values(b, j, 0) = s.clean(b, j, 0) + o.noise * gen.normal();
            s.values(b, j, 1) = s.clean(b, j, 1) + o.noise * gen.normal();
        }
        std::vector<bool> drop(n, false);
        for (std::size_t j : choice(n, dropped, false, gen)) drop[j] = true;
        std::vector<std::size_t> kept;
        for (std::size_t j = 0; j < n; ++j) {
            if (!drop[j]) {
                kept.push_back(j);
                continue;
            }
            s.values(b, j, 0) = s.values(b, j, 1) = std::numeric_limits<double>::quiet_NaN();
        }
        s.kept.push_back(std::move(kept));
    }
    return s;
}

Spirals select(const Spirals& set, const std::vector<std::size_t>& rows) {
    Spirals out;
    out.times = set.times;
    const std::size_t n = set.times.size();
    out.values = Tensor<double>::from_shape({rows.size(), n, 2});
    out.clean = Tensor<double>::from_shape({rows.size(), n, 2});
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const std::size_t r = rows[i];
        for (std::size_t j = 0; j < n; ++j)
            for (std::size_t c = 0; c < 2; ++c) {
                out.values(i, j, c) = set.values(r, j, c);
                out.clean(i, j, c) = set.clean(r, j, c);
            }
        out.labels.push_back(set.labels[r]);
        out.kept.push_back(set.kept[r]);
    }
    return out;
}

}  // namespace odenet::cde
