#pragma once
// Divergence-free (volume-preserving) dynamics in any dimension n >= 2:
//     f(t, z) = Σₖ Sₖ ∇_z Hₖ(t, z),      Sₖ = Wₖ − Wₖᵀ,      k = 1 .. K,
// with H: (t, z) -> (N, K) a user network (the potentials) and Wₖ learnable n×n matrices. Then
//     div f = Σₖ Σᵢⱼ (Sₖ)ᵢⱼ ∂ᵢ∂ⱼHₖ = Σₖ tr(Sₖ ∇²Hₖ) = 0,
// the contraction of an antisymmetric matrix with a symmetric one (the Hessian). With n = 2,
// K = 1 and S = [[0, 1], [−1, 0]] this is Hamiltonian dynamics, dq/dt = ∂H/∂p, dp/dt = −∂H/∂q;
// in general it is the flow of a Poisson-type system, which preserves volume by Liouville's
// theorem. The flow map then has Jacobian determinant 1, so a CNF on it moves points without
// changing their log-density: Δlogp = 0 (Chen et al. 2018, Theorem 1).
//
// How a dynamics declares itself divergence-free: derive from DivergenceFreeDynamics. It is a
// DynamicsWithTrace whose trace is the constant 0, so the CNF (cnf.hpp) skips the trace VJPs
// and its Δ column stays exactly 0 (each step adds h Σ bᵢ · 0). The Jacobian regulariser, which
// needs ∂f/∂z, still takes the VJP path. See Note [Declaring zero divergence] in
// divergence_free.cpp for why a zero trace rather than a CNF without the Δ column.
//
// The gradients ∇Hₖ come from the engine (K VJPs of one evaluation of H), recorded with
// create_graph under grad mode, so f can be trained, differentiated by the adjoint and checked
// at second order; under NoGradGuard a nested recording scope takes them and only values leave.
// H should be smooth in z (tanh, softplus; with ReLU, ∇H is piecewise constant and f jumps,
// which an adaptive solver pays for in rejected steps) and must act on each sample alone (no
// batch statistics): the gradient of H's column sum is read row by row as ∇Hₖ per sample.
#include <cstddef>
#include <memory>
#include <vector>

#include "odenet/nn/cnf.hpp"
#include "odenet/nn/dynamics_with_trace.hpp"

namespace odenet::nn {

/// Dynamics whose divergence is identically zero. Subclasses implement forward(t, z) (N, d);
/// forward_with_trace returns it with a zero trace (N, 1), which the CNF uses in place of the VJPs.
class DivergenceFreeDynamics : public DynamicsWithTrace {
public:
    FieldAndTrace forward_with_trace(const Var& t, const Var& z) final;
};

struct DivergenceFreeOptions {
    std::size_t potentials = 1;    ///< K: H's outputs, each with its own antisymmetric Sₖ
    Dtype dtype = Dtype::float64;  ///< of W (and of the potential make_divergence_free builds)
};

class DivergenceFree : public DivergenceFreeDynamics {
public:
    /// f = Σₖ Sₖ ∇Hₖ on states (N, dim), with H = `potential`: (t, z (N, dim)) -> (N, K). W is
    /// initialised U(−1/√dim, 1/√dim) (Linear's default for a dim -> dim map). ValueError naming
    /// DivergenceFree for a null potential, dim < 2 (in one dimension every antisymmetric S
    /// is 0) or K = 0.
    DivergenceFree(std::shared_ptr<TimeLayer> potential, std::size_t dim, DivergenceFreeOptions options = {});

    /// f(t, z) (N, dim). ShapeError naming DivergenceFree for z not (N, dim) or a potential
    /// whose output is not (N, K); DtypeError for z in another dtype than W.
    Var forward(const Var& t, const Var& z) override;
    /// S = W − Wᵀ per potential: (K, dim, dim), antisymmetric in its last two axes.
    Var coupling() const;

    std::size_t dim() const { return dim_; }
    std::size_t potentials() const { return options_.potentials; }
    TimeLayer& potential() { return *potential_; }

    Var weight;  ///< W: (K, dim, dim); only its antisymmetric part acts

private:
    Var gradients(const Var& t, const Var& z);  // [∇H₁ … ∇H_K]: (N, K dim)

    std::shared_ptr<TimeLayer> potential_;
    std::size_t dim_;
    DivergenceFreeOptions options_;
};

/// DivergenceFree over the potential H = act(ConcatSquashMLP(t, z)) Vᵀ: FFJORD's toy layers
/// (cnf.hpp) dim -> hidden[0] -> ... -> hidden.back(), the activation, then a linear head
/// (K, hidden.back()) without bias, since a bias constant in z would never act on f. Children:
/// "potential.net.0", ..., "potential.head"; all in options.dtype. ValueError as the
/// constructor throws it, and for an empty `hidden`.
std::shared_ptr<DivergenceFree> make_divergence_free(std::size_t dim, const std::vector<std::size_t>& hidden,
                                                     DivergenceFreeOptions options = {},
                                                     Activation activation = Activation::tanh);

}  // namespace odenet::nn
