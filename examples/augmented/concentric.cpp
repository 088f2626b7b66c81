#include "odenet/augmented/concentric.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "odenet/core/error.hpp"
#include "odenet/core/random.hpp"

namespace odenet::augmented {

namespace {

// A point uniform by area in lo <= |x| <= hi: the area inside radius r grows as r^2, so r^2 is
// uniform on [lo^2, hi^2].
void point_in_annulus(Generator& gen, double lo, double hi, double& x, double& y) {
    const double r = std::sqrt(lo * lo + gen.uniform() * (hi * hi - lo * lo));
    const double angle = 2 * std::numbers::pi * gen.uniform();
    x = r * std::cos(angle), y = r * std::sin(angle);
}

}  // namespace

Concentric make_concentric(const ConcentricConfig& c, std::uint64_t seed) {
    if (c.count < 2)
        throw ValueError("make_concentric", "count = " + std::to_string(c.count) + ": need at least 2 points (one of each class)");
    if (!(std::isfinite(c.r3) && 0 < c.r1 && c.r1 < c.r2 && c.r2 < c.r3))
        throw ValueError("make_concentric", "the radii must be finite with 0 < r1 < r2 < r3; got r1 = " + std::to_string(c.r1) +
                                                ", r2 = " + std::to_string(c.r2) + ", r3 = " + std::to_string(c.r3));
    Generator gen(seed);
    Concentric d;
    d.inner = std::max<std::size_t>(1, c.count / 3);
    d.x = Tensor<double>::from_shape({c.count, 2});
    d.y.resize(c.count);
    for (std::size_t i = 0; i < c.count; ++i) {
        const bool inner = i < d.inner;
        point_in_annulus(gen, inner ? 0.0 : c.r2, inner ? c.r1 : c.r3, d.x(i, 0), d.x(i, 1));
        d.y[i] = inner ? -1.0 : 1.0;
    }
    return d;
}

Batch gather(const Concentric& data, const std::vector<std::size_t>& rows) {
    Batch b{Tensor<double>::from_shape({rows.size(), 2}), Tensor<double>::from_shape({rows.size(), 1})};
    for (std::size_t k = 0; k < rows.size(); ++k) {
        if (rows[k] >= data.y.size())
            throw ValueError("gather", "row " + std::to_string(rows[k]) + " of a set of " + std::to_string(data.y.size()));
        b.x(k, 0) = data.x(rows[k], 0), b.x(k, 1) = data.x(rows[k], 1), b.y(k, 0) = data.y[rows[k]];
    }
    return b;
}

}  // namespace odenet::augmented
