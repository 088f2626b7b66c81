#pragma once
// The 2-D task of Augmented Neural ODEs (Dupont, Doucet and Teh, NeurIPS 2019, section 4.1,
// g(x) of equation (3) with d = 2): label -1 for |x| <= r1, +1 for r2 <= |x| <= r3, and no
// points between, at the paper's r1 = 0.5, r2 = 1.0, r3 = 1.5. A flow of the plane cannot move
// the inner disc out of the ring without crossing it, so a plain Neural ODE followed by a linear
// map cannot represent g; with p >= 1 extra dimensions the disc can be lifted past the ring.
//
// Points are uniform by area: the inner ones in the disc of radius r1, the outer ones in the
// annulus r2 <= |x| <= r3 (radius sqrt(r_lo^2 + u (r_hi^2 - r_lo^2)), angle 2 pi v, u and v
// uniform). The authors' code draws the radius as r_lo + (r_hi - r_lo) u^(1/2) instead, uniform
// in the disc but denser near the annulus' inner edge. One third of the points are inner, as
// their example notebook's 1000 inner and 2000 outer.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "odenet/core/tensor.hpp"

namespace odenet::augmented {

struct ConcentricConfig {
    std::size_t count = 3000;  ///< points in the set; count / 3 (rounded down) of them inner
    double r1 = 0.5;           ///< the inner disc's radius
    double r2 = 1.0;           ///< the annulus' inner radius (nothing in r1 < |x| < r2)
    double r3 = 1.5;           ///< the annulus' outer radius
};

struct Concentric {
    Tensor<double> x;          ///< (count, 2), the inner points first
    std::vector<double> y;     ///< (count): -1 inner, +1 outer
    std::size_t inner = 0;     ///< how many are inner
};

/// `config.count` points from `seed`, the same for the same seed on every platform (odenet's
/// Generator). ValueError for count < 2 (each class needs a point) or radii not 0 < r1 < r2 < r3
/// (finite).
Concentric make_concentric(const ConcentricConfig& config, std::uint64_t seed);

/// The points in `rows` (x (rows, 2), y (rows, 1)) as float64 tensors: a training batch.
struct Batch {
    Tensor<double> x, y;
};
Batch gather(const Concentric& data, const std::vector<std::size_t>& rows);

}  // namespace odenet::augmented
