#pragma once
// solve(f, y0, ts, options): the states at every output time, as torchdiffeq's odeint and
// diffrax's diffeqsolve(saveat=SaveAt(ts=...)) return them, plus the cost of the solve.
//
// Invariants (DESIGN.md): time is double whatever the state's element type; a solve either
// returns every requested time or throws SolverError naming t, h and the reason.
#include <type_traits>
#include <vector>

#include "odenet/ode/detail/integrator.hpp"
#include "odenet/ode/detail/partitioned.hpp"
#include "odenet/ode/detail/stiff.hpp"
#include "odenet/ode/options.hpp"
#include "odenet/ode/solution.hpp"

namespace odenet::ode {

/// Solves dy/dt = f(t, y), y(ts[0]) = y0, and returns y at every ts[i] (ys[0] = y0).
/// f is `State f(double t, const State& y)` or `void f(double t, const State& y, State& dydt)`.
/// State: odenet::Tensor<float|double> of any shape, std::vector<double>, std::array<double, N>,
/// or any type with a StateOps specialisation. ts: strictly increasing or strictly decreasing.
/// Throws ValueError for invalid options and SolverError (t, h, reason) for: non-monotone ts,
/// a shape mismatch between f's output and y, NaN/Inf in y0 or f, step size underflow, and
/// exceeding max_steps (the last two name the dominant component of the error).
/// Method::leapfrog and Method::yoshida4 (symplectic.hpp) need a (q, p) state of even size and
/// Options::step_size > 0, else ValueError naming the method.
/// The implicit methods (rosenbrock23, rodas4, trbdf2; implicit.hpp) and Options::stiff_switch
/// need a state stored as one array and count Jacobians and LU factorisations in the stats.
template <class State, class F>
Solution<State> solve(F&& f, const State& y0, const std::vector<double>& ts, const Options& options = {}) {
    validate(options);
    if (is_symplectic(options.method)) return detail::solve_symplectic(f, y0, ts, options);
    if (is_implicit(options.method) || options.stiff_switch) return detail::solve_stiff_state(f, y0, ts, options);
    detail::Integrator<State, std::remove_reference_t<F>> integrator(f, y0, ts, options);
    return integrator.run();
}

}  // namespace odenet::ode
