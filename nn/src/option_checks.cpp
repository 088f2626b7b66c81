#include "option_checks.hpp"

#include <cmath>
#include <cstdio>
#include <string>

#include "odenet/core/error.hpp"

namespace odenet::optim::detail {

namespace {
std::string num(double x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", x);
    return buf;
}
}  // namespace

void require_non_negative(const char* where, const char* name, double value) {
    if (value >= 0.0 && std::isfinite(value)) return;
    throw ValueError(where, std::string(name) + " must be finite and >= 0, got " + num(value));
}

void require_unit_interval(const char* where, const char* name, double value) {
    if (value >= 0.0 && value <= 1.0) return;
    throw ValueError(where, std::string(name) + " must be in [0, 1], got " + num(value));
}

}  // namespace odenet::optim::detail
