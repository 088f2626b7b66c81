#pragma once
// What a solve reports besides the states: its cost and, step by step, its progress.
#include <cstddef>

namespace odenet::ode {

/// Counters of one solve. nfe counts every evaluation of f, including the initial-step
/// selection and the extra stages of dense output.
struct SolveStats {
    std::size_t nfe = 0;       ///< function evaluations
    std::size_t accepted = 0;  ///< accepted steps (every step, for fixed-step solves)
    std::size_t rejected = 0;  ///< rejected steps
};

/// Passed to Options::step_callback after every attempted step.
struct StepInfo {
    double t = 0.0;            ///< start of the attempted step
    double h = 0.0;            ///< its size (negative when integrating backwards)
    double error_ratio = 0.0;  ///< error norm / tolerance; <= 1 accepts (0 for fixed steps, NaN on NaN)
    bool accepted = false;
};

}  // namespace odenet::ode
