#pragma once
// The options of a solve: a plain struct, meant for designated initialisers,
//   solve(f, y0, ts, {.method = Method::tsit5, .rtol = 1e-6, .atol = 1e-8});
#include <cstddef>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <vector>

#include "odenet/ode/controller.hpp"
#include "odenet/ode/stats.hpp"
#include "odenet/ode/tableau.hpp"

namespace odenet::ode {

/// A norm of the scaled error err_i / (atol + rtol max(|y0_i|, |y1_i|)), flattened.
/// The default is the RMS; a seminorm (e.g. for an adjoint) ignores some components.
using ErrorNorm = std::function<double(std::span<const double> scaled_error)>;

/// The Jacobian ∂f/∂y at (t, y) for the implicit methods. y is the state flattened (row-major
/// over its shape, as doubles); J receives `jacobian_blocks` blocks of m × m, m = size / blocks,
/// each row-major: J[(b m + i) m + j] = ∂f_{b m + i} / ∂y_{b m + j}.
using JacobianFn = std::function<void(double t, std::span<const double> y, std::span<double> J)>;

struct Options {
    Method method = Method::dopri5;
    double rtol = 1e-7;  ///< relative tolerance (torchdiffeq's default; SciPy uses 1e-3)
    double atol = 1e-9;  ///< absolute tolerance
    /// Size of the first step; 0 selects it by Hairer, Norsett & Wanner's algorithm
    /// (HNW I, Sec. II.4, "Starting step size"), which costs one evaluation of f. A solve that
    /// continues an earlier one can pass that one's Solution::next_step.
    double first_step = 0.0;
    /// Keep the state at the end of every accepted step (Solution::step_ts, step_ys), as
    /// diffrax's SaveAt(steps=True): what a checkpointing backward pass restarts from.
    bool save_steps = false;
    /// Smallest |h| the controller may propose; a step rejected at this size raises
    /// SolverError (step size underflow). 0: only the floating-point floor 8 eps |t|.
    double min_step = 0.0;
    double max_step = std::numeric_limits<double>::infinity();  ///< largest |h|
    /// Attempted steps (accepted + rejected) allowed before SolverError.
    std::size_t max_steps = 100000;
    /// > 0: fixed steps of this size for any method (the embedded estimate is ignored); output
    /// times between grid points are interpolated by the method's dense output. Required in
    /// effect for methods without an error estimate: when 0 for them, the grid is ts itself
    /// (torchdiffeq's convention). Required (> 0) for the symplectic methods (symplectic.hpp).
    double step_size = 0.0;
    /// Times where f or one of its derivatives jumps (diffrax's jump_ts; the knots of a neural
    /// CDE's control path, nn/interpolation.hpp). An adaptive step never straddles one: it ends
    /// just before, and the next starts just after with f evaluated anew (see Note [Steps at
    /// jump times] in detail/integrator.hpp). Any order; times outside the solve's span are
    /// ignored. Fixed-step solves (step_size > 0, methods without an error estimate) ignore
    /// them: put the jumps on the step grid there.
    std::vector<double> jump_times{};
    // ---- stiff problems (implicit.hpp) --------------------------------------------------
    /// ∂f/∂y for the implicit methods. Empty: forward differences (ode::solve), the autodiff
    /// engine (odeint: one reverse sweep per row of a block).
    JacobianFn jacobian{};
    /// The state is this many independent systems of equal size stored one after another (a
    /// batch (N, m) whose samples do not interact): the Jacobian is block diagonal, computed,
    /// stored and factorised per block. 1: one coupled system.
    std::size_t jacobian_blocks = 1;
    /// f does not read t: the Rosenbrock methods skip ∂f/∂t (one evaluation of f per step).
    bool autonomous = false;
    /// With dopri5 or tsit5: watch for stiffness (Hairer's test on the last stages) and switch
    /// to this implicit method where the problem turns stiff, and back where it stops being
    /// stiff (as LSODA does). Reported in SolveStats::switches and StepInfo::method.
    std::optional<Method> stiff_switch{};
    PIController controller{};
    ErrorNorm norm{};                                ///< empty: RMS over all elements
    std::function<void(const StepInfo&)> step_callback{};  ///< called after every attempted step
};

/// Throws ValueError naming the option and its value unless rtol, atol, first_step, min_step
/// and step_size are finite and >= 0 (rtol and atol not both 0), max_step > 0 (inf allowed),
/// min_step <= max_step, max_steps > 0, every jump time is finite, jacobian_blocks >= 1,
/// stiff_switch (when set) is an implicit method and the method dopri5 or tsit5, and the
/// controller has a finite safety > 0,
/// 0 < min_factor < 1 <= max_factor < inf and finite beta1, beta2. NaN fails every check.
void validate(const Options& options);

}  // namespace odenet::ode
