#pragma once
// Continuous normalizing flow: FFJORD (Grathwohl, Chen, Bettencourt, Sutskever & Duvenaud, 2019,
// "FFJORD: Free-form continuous dynamics for scalable reversible generative models", ICLR).
//
// Data x sits at t = 0 and the standard normal base at t = T. The state z(t) follows
// dz/dt = f(t, z) and, by the instantaneous change of variables (Chen et al. 2018, Theorem 1),
// d log p(z(t))/dt = −tr(∂f/∂z). The solve carries Δ(t) with dΔ/dt = −tr(∂f/∂z), Δ(0) = 0, so
//   log p_data(x) = log N(z(T); 0, I) − Δ(T)                                  (FFJORD eq. 4)
// The trace is exact (one VJP per dimension) or Hutchinson's estimate εᵀ(∂f/∂z)ε (one VJP per
// probe), recorded with create_graph so that the adjoint, whose own VJP differentiates the
// augmented dynamics, gets second-order terms right. See Note [Hutchinson noise per solve].
// Dynamics that derive from DynamicsWithTrace (dynamics_with_trace.hpp, e.g. the planar CNF's
// HyperPlanar) give their exact trace in closed form instead, whichever estimator is chosen,
// unless the Jacobian regulariser, which needs the VJPs, is on.
//
// Optional regularisers of Finlay, Jacobsen, Nurbekyan & Oberman (2020), "How to train your
// neural ODE", ICML: kinetic energy ∫|f|² dt and Jacobian Frobenius norm ∫‖∂f/∂z‖_F² dt (exact
// from the exact trace's VJPs; |εᵀ∂f/∂z|² with Hutchinson), each one more column of the state.
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "odenet/core/random.hpp"
#include "odenet/nn/concat_layers.hpp"
#include "odenet/nn/module.hpp"
#include "odenet/odeint/odeint.hpp"

namespace odenet::nn {

enum class Trace { exact, hutchinson };
enum class Noise { rademacher, gaussian };

/// "exact" / "hutchinson" and "rademacher" / "gaussian"; the *_from_name functions throw
/// ValueError listing the valid names.
const char* trace_name(Trace trace);
Trace trace_from_name(const std::string& name);
const char* noise_name(Noise noise);
Noise noise_from_name(const std::string& name);

struct CNFOptions {
    double end_time = 0.5;        ///< T at construction (FFJORD's toy setting)
    bool learn_end_time = true;   ///< T = sqrt_end_time² is a parameter (else a buffer)
    Trace trace = Trace::exact;   ///< FFJORD's default in 2-D; a call may override it
    Noise noise = Noise::rademacher;
    int probes = 1;               ///< Hutchinson probes averaged (K)
    double kinetic_weight = 0.0;   ///< λ_K of ∫|f|² (0: not carried)
    double jacobian_weight = 0.0;  ///< λ_J of ∫‖∂f/∂z‖_F² (0: not carried)
    /// Solver, tolerances and gradient mode: odeint's defaults unless set (FFJORD trains its
    /// toy densities with dopri5 at rtol = atol = 1e-5, as examples/toy_density sets).
    ode::OdeintOptions odeint{};
};

/// What transform() returns: the other end of the flow and the integrals along it, each (N,).
struct FlowResult {
    Var z;           ///< z(T) for transform, x = z(0) for inverse; (N, d)
    Var delta_logp;  ///< Δ at the end of the solve (∫ −tr dt over the solve's direction)
    Var kinetic;     ///< ∫|f|² dt (undefined unless kinetic_weight > 0)
    Var jacobian;    ///< ∫‖∂f/∂z‖_F² dt (undefined unless jacobian_weight > 0)
};

/// log p(x) and the regulariser of the same solve, as log_prob_and_regularization returns them.
struct LogProb {
    Var log_prob;        ///< (N,)
    Var regularization;  ///< λ_K mean(kinetic) + λ_J mean(jacobian): 0-d, the data's dtype (0 without weights)
};

class CNF : public Module {
public:
    /// `dynamics` is f(t, z): (N, dim) -> (N, dim). Throws ValueError for a null dynamics,
    /// dim 0, a non-positive end time or probes < 1.
    CNF(std::shared_ptr<TimeLayer> dynamics, std::size_t dim, CNFOptions options = {});

    /// log p(x) of data x (N, dim) under the flow with a standard normal base: (N,).
    /// `trace` overrides options.trace for this call (Trace::exact to evaluate a model trained
    /// with Hutchinson's estimate).
    Var log_prob(const Var& x, std::optional<Trace> trace = {});
    /// log p(x) and the regulariser to add to the loss, from one solve:
    ///   auto [logp, reg] = flow.log_prob_and_regularization(x);  loss = -mean(logp) + reg;
    LogProb log_prob_and_regularization(const Var& x, std::optional<Trace> trace = {});
    /// Data -> base (t: 0 -> T), carrying Δlogp and the regularisers.
    FlowResult transform(const Var& x, std::optional<Trace> trace = {});
    /// Base -> data (t: T -> 0), carrying Δlogp: log p(x) = log N(z) + delta_logp.
    FlowResult inverse(const Var& z, std::optional<Trace> trace = {});
    /// n samples of the model: base draws pushed through the flow (no trace). (n, dim).
    Var sample(std::size_t n, Generator& gen = default_generator());
    /// The flow from base points z (N, dim) at t = T to data at t = 0, at `steps` >= 2 equally
    /// spaced times: (steps, N, dim), row 0 the base points.
    Var trajectory(const Var& z, std::size_t steps);

    std::size_t dim() const { return dim_; }
    /// T as a 0-d float64 Var (differentiable with respect to sqrt_end_time).
    Var end_time() const;
    /// Cost of the last solve and of the last backward pass through it.
    ode::OdeintStats last_stats() const { return last_ ? last_->stats() : ode::OdeintStats{}; }
    std::size_t last_nfe() const { return last_stats().forward.nfe; }
    std::size_t last_backward_nfe() const { return last_stats().backward.nfe; }

    TimeLayer& dynamics() { return *dynamics_; }
    CNFOptions options;
    Var sqrt_end_time;  ///< T = sqrt_end_time² (FFJORD's parameterisation keeps T > 0)

private:
    Var solve(const ode::Dynamics& rhs, const Var& y0, const Var& ts);
    void check_points(const char* where, const Var& x) const;

    std::shared_ptr<TimeLayer> dynamics_;
    std::size_t dim_;
    std::optional<ode::OdeintSolution> last_;
};

/// The right-hand side of the augmented state [z, Δ, (kinetic), (jacobian)], stacked as
/// columns: state (N, d + 1 + regs) -> (N, d + 1 + regs), with dΔ/dt = −tr(∂f/∂z), then |f|²
/// and ‖∂f/∂z‖_F² when asked. `noise` holds the K Hutchinson probes (N, d each); empty for the
/// exact trace. Under grad mode the result is recorded as a function of the state and f's
/// parameters, second-order terms included; under NoGradGuard it is a plain value. Exposed for
/// tests and benchmarks; CNF builds it for each solve.
Var cnf_augmented_dynamics(TimeLayer& f, const Var& t, const Var& state, std::size_t dim, Trace trace,
                           const std::vector<Var>& noise, bool kinetic, bool jacobian);

/// tr(∂f/∂z) per sample, (N, 1), for fz = f(z) with z (N, d) requiring grad: exact (d VJPs
/// with the unit vectors) or the mean over the probes in `noise` of εᵀ(∂f/∂z)ε (one VJP each).
/// With `frobenius`, also ‖∂f/∂z‖_F² (exact) or the mean of |εᵀ∂f/∂z|² (its unbiased
/// estimate), (N, 1). create_graph records the VJPs so the result can be differentiated.
/// Throws ValueError for Hutchinson without noise.
Var divergence(const Var& fz, const Var& z, Trace trace, const std::vector<Var>& noise, bool create_graph,
               Var* frobenius = nullptr);

enum class Activation { tanh, softplus };
const char* activation_name(Activation a);
Activation activation_from_name(const std::string& name);

/// FFJORD's toy dynamics (lib/layers/odefunc.py ODEnet, layer_type "concatsquash"): a stack of
/// ConcatSquashLinear dim -> hidden[0] -> ... -> dim with the activation between layers, not
/// after the last. Children are named "0", "1", ... `out` > 0 ends the stack in `out` features
/// instead of dim (a scalar potential for DivergenceFree, divergence_free.hpp).
class ConcatSquashMLP : public TimeLayer {
public:
    ConcatSquashMLP(std::size_t dim, const std::vector<std::size_t>& hidden, Activation activation = Activation::tanh,
                    Dtype dtype = Dtype::float64, std::size_t out = 0);
    Var forward(const Var& t, const Var& z) override;

private:
    std::vector<std::shared_ptr<ConcatSquashLinear>> layers_;
    Activation activation_;
};

/// std::make_shared<ConcatSquashMLP>(...): the dynamics of the README's toy flow.
std::shared_ptr<TimeLayer> make_toy_dynamics(std::size_t dim, const std::vector<std::size_t>& hidden,
                                             Activation activation = Activation::tanh, Dtype dtype = Dtype::float64);

}  // namespace odenet::nn
