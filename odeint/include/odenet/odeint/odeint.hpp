#pragma once
// odeint: a differentiable solve. Three ways to get gradients, as torchdiffeq and diffrax offer:
//   Grad::adjoint       the continuous adjoint of Chen et al. (2018), Algorithm 1: nothing is
//                       recorded forward; backward solves [y, a = dL/dy, a_θ] from t1 to t0 with
//                       one VJP of f per evaluation (memory flat in the number of steps)
//   Grad::direct        record every stage on the tape and backprop through them (memory grows
//                       with the number of steps; exact gradient of the discrete solve)
//   Grad::checkpointed  keep the state at every accepted step of the forward solve and, going
//                       backwards, re-solve each step once from its checkpoint with recording
//                       (output times inside it read from its dense output), then backprop
//                       through it: the gradient of the forward's discrete solve, as direct
//                       mode's, so the reverse pass never drifts from the forward trajectory
//                       (the plain adjoint's weakness on unstable dynamics); memory grows with
//                       the number of steps, and the tape holds one step at a time.
// Gradients reach y0, the parameters and every output time (t0 included): dL/dtᵢ = ⟨∂L/∂y(tᵢ),
// f(tᵢ, y(tᵢ))⟩ for i ≥ 1 and dL/dt0 = −⟨dL/dy0, f(t0, y0)⟩ (Chen et al. 2018, Appendix B).
//
// Implicit methods (Method::rodas4, rosenbrock23, trbdf2, or solver.stiff_switch; ode/implicit.hpp)
// take their Jacobian from the engine (solver.jacobian_blocks = N for a batch of N independent
// samples). Grad::adjoint and Grad::checkpointed then take one path: the forward keeps every
// step, and the backward solves [a, a_θ] with the same implicit method, reading y(t) from the
// forward's steps, since recomputing y backwards is unstable when f is stiff (Note [The adjoint
// through an implicit method], odeint/src/odeint_implicit.cpp). Its gradient is that of the exact
// solution to tolerance, not the discrete solve's. Grad::direct refuses them (ValueError).
//
// Symplectic methods (Method::leapfrog, yoshida4, with solver.step_size; ode/symplectic.hpp)
// work with Grad::direct; Grad::adjoint and Grad::checkpointed refuse them with a ValueError.
//
// A module as the dynamics: nn::odeint(module, y0, ts) (nn/odeint.hpp) collects its parameters
// and shares its ownership. This overload takes any callable and the list of the Vars it uses.
#include <functional>
#include <memory>
#include <optional>
#include <string>
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

/// The options of every differentiable solve: odeint, ODEBlock and CNF embed this struct, so
/// each default is chosen here once (the README's defaults table lists them with the reasons).
struct OdeintOptions {
    Options solver{};               ///< dopri5, rtol 1e-7, atol 1e-9 (see options.hpp)
    /// The adjoint: memory flat in the number of steps, the paper's method. Its gradient is
    /// that of the exact solution to solver tolerance; direct gives the discrete solve's.
    Grad grad = Grad::adjoint;
    AdjointOptions adjoint{};
};

/// Cost of a solve's forward pass and of its backward pass.
struct OdeintStats {
    SolveStats forward;
    SolveStats backward;  ///< zeros until backward ran (and always for Grad::direct)
};

/// What odeint returns: the states and the cost of the solve. Converts to its `ys`, so
/// `Var ys = odeint(...)` reads as in torchdiffeq.
class OdeintSolution {
public:
    OdeintSolution(Var ys, SolveStats forward, std::shared_ptr<const SolveStats> backward)
        : ys(std::move(ys)), forward(forward), backward_(std::move(backward)) {}

    Var ys;              ///< (len(ts), *y0.shape); ys[0] is y0
    SolveStats forward;  ///< cost of the forward solve(s)
    /// Cost of the backward solves of the last backward pass through `ys` (adjoint and
    /// checkpointed modes); zeros before one ran and always for Grad::direct.
    SolveStats backward() const { return backward_ ? *backward_ : SolveStats{}; }
    OdeintStats stats() const { return {forward, backward()}; }

    operator Var() const { return ys; }

private:
    std::shared_ptr<const SolveStats> backward_;
};

/// Solves dy/dt = f(t, y) from y0 at ts[0] and returns the states at every time of `ts`.
/// `ts` is a 1-d float64 Var, strictly monotone; make it require grad for gradients with
/// respect to the times. `params` are the trainable Vars f uses (its module's parameters): the
/// adjoint and checkpointed modes differentiate with respect to exactly these, and the first
/// backward pass throws GraphError if f reaches a trainable leaf not listed (as when the
/// list is forgotten). A listed Var need not be a leaf: the adjoint then carries its gradient,
/// and the chain rule takes it on to what it was computed from (NeuralCDE lists a path's
/// coefficients computed from data that require grad). Direct mode records f on the tape and
/// needs no list.
/// Throws SolverError naming the phase (forward solve, adjoint backward solve between two
/// times) and the user's tensor that holds a NaN or Inf; ShapeError/DtypeError on inconsistent
/// inputs; GraphError for create_graph through the adjoint or checkpointed modes.
OdeintSolution odeint(const Dynamics& f, const Var& y0, const Var& ts, const std::vector<Var>& params = {},
                      const OdeintOptions& options = {});

namespace detail {
/// odeint with a name per parameter (a module's named_parameters()) for error messages.
OdeintSolution odeint_named(const Dynamics& f, const Var& y0, const Var& ts, const std::vector<Var>& params,
                            const std::vector<std::string>& names, const OdeintOptions& options);
}  // namespace detail

}  // namespace odenet::ode
