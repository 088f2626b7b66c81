#pragma once
// odeint: a differentiable solve. Three ways to get gradients, as torchdiffeq and diffrax offer:
//   Grad::direct        record every stage on the tape and backprop through them (memory grows
//                       with the number of steps; exact gradient of the discrete solve)
//   Grad::adjoint       the continuous adjoint of Chen et al. (2018), Algorithm 1: nothing is
//                       recorded forward; backward solves [y, a = dL/dy, a_θ] from t1 to t0 with
//                       one VJP of f per evaluation (memory flat in the number of steps)
//   Grad::checkpointed  keep the state at every accepted step of the forward solve and, going
//                       backwards, re-solve each step from its checkpoint with recording, then
//                       backprop through it: the reverse pass never drifts from the forward
//                       trajectory (the plain adjoint's weakness on unstable dynamics); memory
//                       grows with the number of checkpoints, not stages.
// Gradients reach y0, the parameters and every output time (t0 included): dL/dtᵢ = ⟨∂L/∂y(tᵢ),
// f(tᵢ, y(tᵢ))⟩ for i ≥ 1 and dL/dt0 = −⟨dL/dy0, f(t0, y0)⟩ (Chen et al. 2018, Appendix B).
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "odenet/autodiff/var.hpp"
#include "odenet/ode/options.hpp"
#include "odenet/ode/stats.hpp"

namespace odenet::ode {

/// Dynamics f(t, y): t is a 0-d Var of y's dtype (constant), y a Var; returns dy/dt, y's shape.
using Dynamics = std::function<Var(const Var& t, const Var& y)>;

enum class Grad { direct, adjoint, checkpointed };

/// "direct", "adjoint", "checkpointed"; grad_from_name throws ValueError listing them.
const char* grad_name(Grad grad);
Grad grad_from_name(const std::string& name);

struct AdjointOptions {
    std::optional<Method> method{};  ///< default: the forward method
    std::optional<double> rtol{};    ///< default: the forward rtol
    std::optional<double> atol{};    ///< default: the forward atol
    /// Kidger, Chen & Lyons (2021), "Hey, that's not an ODE": leave the parameter-gradient
    /// channels a_θ out of the error norm; they do not feed back into the dynamics, so their
    /// error need not limit the step size.
    bool seminorm = false;
};

struct OdeintOptions {
    Options solver{};
    Grad grad = Grad::direct;
    AdjointOptions adjoint{};
};

/// Cost of the last forward and backward solves (filled in when backward runs).
struct OdeintStats {
    SolveStats forward;
    SolveStats backward;
};

/// Solves dy/dt = f(t, y) from y0 at ts[0] and returns the states at every time of `ts`
/// stacked: shape (len(ts), *y0.shape). `ts` is a 1-d float64 Var, strictly monotone; make it
/// require grad for gradients with respect to the times. `params` are the Vars f depends on
/// (its module's parameters): the adjoint modes differentiate with respect to exactly these.
/// Throws SolverError (see solve()) and ShapeError/DtypeError on inconsistent inputs.
Var odeint(const Dynamics& f, const Var& y0, const Var& ts, const std::vector<Var>& params = {},
           const OdeintOptions& options = {}, std::shared_ptr<OdeintStats> stats = nullptr);

}  // namespace odenet::ode
