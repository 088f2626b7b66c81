#pragma once
// What a solve reports besides the states: its cost and, step by step, its progress.
#include <cstddef>

#include "odenet/ode/tableau.hpp"

namespace odenet::ode {

/// Counters of one solve. nfe counts every evaluation of f, including the initial-step
/// selection and the extra stages of dense output.
struct SolveStats {
    std::size_t nfe = 0;       ///< function evaluations
    std::size_t accepted = 0;  ///< accepted steps (every step, for fixed-step solves)
    std::size_t rejected = 0;  ///< rejected steps
    // Implicit methods (implicit.hpp); zero for explicit solves.
    std::size_t njac = 0;         ///< Jacobians of f evaluated (finite differences count their f calls in nfe too)
    std::size_t nlu = 0;          ///< LU factorisations of I - h γ J (all blocks of one matrix count once)
    std::size_t nsolve = 0;       ///< solves with the factorised matrix
    std::size_t newton = 0;       ///< simplified Newton iterations (trbdf2)
    std::size_t switches = 0;     ///< changes between the explicit and the implicit method (stiff_switch)
    std::size_t stiff_steps = 0;  ///< accepted steps taken by an implicit method
};

/// Passed to Options::step_callback after every attempted step.
struct StepInfo {
    double t = 0.0;            ///< start of the attempted step
    double h = 0.0;            ///< its size (negative when integrating backwards)
    double error_ratio = 0.0;  ///< error norm / tolerance; <= 1 accepts (0 for fixed steps, NaN on NaN)
    bool accepted = false;
    Method method = Method::dopri5;  ///< the method that took the step (changes under stiff_switch)
};

}  // namespace odenet::ode
