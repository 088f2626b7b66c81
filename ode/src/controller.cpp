#include "odenet/ode/controller.hpp"

#include <algorithm>
#include <cmath>

namespace odenet::ode {

namespace {
// An error ratio of exactly 0 (a linear problem solved exactly, or a zero state) would ask for
// an infinite step; the floor makes the factor max_factor instead. Hairer's DOPRI5 floors
// err_{n-1} at 1e-4 for the same reason.
constexpr double kErrFloor = 1e-10;
const double kLogPrevFloor = std::log(1e-4);
}  // namespace

StepDecision PIController::propose(double h, double err, int error_order) {
    const double k = error_order + 1.0;
    if (!std::isfinite(err)) {
        last_rejected = true;
        return {false, h * min_factor};
    }
    const double e = std::max(err, kErrFloor);
    if (err <= 1.0) {
        // One log and one exp instead of two pow: this runs once per step of a cheap RHS.
        const double log_e = std::log(e);
        double factor = safety * std::exp((-beta1 * log_e + beta2 * log_prev_err) / k);
        factor = std::clamp(factor, min_factor, max_factor);
        if (last_rejected) factor = std::min(factor, 1.0);
        log_prev_err = std::max(log_e, kLogPrevFloor);
        last_rejected = false;
        return {true, h * factor};
    }
    const double factor = std::clamp(safety * std::exp(-std::log(e) / k), min_factor, 1.0);
    last_rejected = true;
    return {false, h * factor};
}

void PIController::reset() {
    log_prev_err = 0.0;
    last_rejected = false;
}

}  // namespace odenet::ode
