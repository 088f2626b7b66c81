#include "odenet/core/error.hpp"

#include <cstdio>

namespace odenet {

Error::Error(std::string where, std::string message)
    : std::runtime_error(where + ": " + message), where_(std::move(where)), message_(std::move(message)) {}

namespace {
std::string format_solver_message(double t, double h, const std::string& reason) {
    char head[96];
    std::snprintf(head, sizeof head, "at t = %.17g with step size h = %.6g: ", t, h);
    return head + reason;
}
}  // namespace

SolverError::SolverError(std::string where, double t, double h, std::string reason, std::size_t component)
    : Error(std::move(where), format_solver_message(t, h, reason)),
      t_(t),
      h_(h),
      reason_(std::move(reason)),
      component_(component) {}

IOError::IOError(std::string where, std::string path, std::string message)
    : Error(std::move(where), "'" + path + "': " + message), path_(std::move(path)) {}

}  // namespace odenet
