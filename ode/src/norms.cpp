#include "odenet/ode/norms.hpp"

#include <algorithm>
#include <cmath>

#include "odenet/core/error.hpp"

namespace odenet::ode {

double rms_norm(std::span<const double> scaled) {
    if (scaled.empty()) return 0.0;
    double sum = 0.0;
    for (double e : scaled) sum += e * e;
    return std::sqrt(sum / static_cast<double>(scaled.size()));
}

double max_norm(std::span<const double> scaled) {
    double m = 0.0;
    for (double e : scaled) {
        if (std::isnan(e)) return e;
        m = std::max(m, std::abs(e));
    }
    return m;
}

ErrorNorm rms_seminorm(std::size_t begin, std::size_t end) {
    if (begin > end) throw ValueError("rms_seminorm", "begin " + std::to_string(begin) + " > end " + std::to_string(end));
    return [begin, end](std::span<const double> scaled) {
        const std::size_t b = std::min(begin, scaled.size()), e = std::min(end, scaled.size());
        return rms_norm(scaled.subspan(b, e - b));
    };
}

}  // namespace odenet::ode
