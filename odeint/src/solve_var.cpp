#include "solve_var.hpp"

#include "odenet/ode/solve.hpp"
#include "odenet/odeint/var_state.hpp"

namespace odenet::ode::detail {

Solution<Var> solve_var(const VarRhs& f, const Var& y0, const std::vector<double>& ts, const Options& options) {
    return solve(f, y0, ts, options);
}

}  // namespace odenet::ode::detail
