#pragma once
// Hamiltonian neural networks: Greydanus, Dzamba & Yosinski (2019), "Hamiltonian Neural
// Networks", NeurIPS, section 3. A network learns a scalar H(q, p) and the dynamics are its
// symplectic gradient (Hamilton's equations, their eq. 1):
//     dq/dt = ∂H/∂p,    dp/dt = −∂H/∂q,
// so the flow conserves H exactly (dH/dt = ∂H/∂q · ∂H/∂p − ∂H/∂p · ∂H/∂q = 0) whatever H is, and
// a solver conserves it to its tolerance. The state y (N, 2m) is [q, p]: q its first m columns,
// p the last m. Both layers also take the same states as planes (2, N, m) = [q; p] (y[0] = q,
// y[1] = p) and return the field in that layout: the symplectic steppers (ode/symplectic.hpp)
// split the *flattened* state in halves, which for rows (N, 2m) is [q, p] only when N = 1, so a
// batch solved with leapfrog or yoshida4 must be passed as planes.
//
// Note [Hamiltonian fields are gradients]
// ∇H is taken by the engine (grad with create_graph), so the field is itself recorded as a
// function of y and of H's parameters, and a loss on it (or on a solve through it) is
// differentiated to second order in H (PyTorch's create_graph, as the paper's code does).
//   - Recording on (training, Grad::direct, the checkpointed re-solves, the adjoint's VJP): ∇H is
//     taken with respect to y itself when y requires grad, else to a leaf copy of it.
//   - Recording off (odeint's adjoint forward, inference under NoGradGuard): recording is switched
//     on inside forward for one H evaluation and its first-order gradient, on a leaf copy of y,
//     and the field is returned as plain values (nothing is kept on the tape).
// Cost: one evaluation of H and one backward through it per field. When y carries a long history
// (Grad::direct through many steps) the engine's graph walk from H reaches back through all of
// it at every evaluation, so direct mode costs grow with the square of the step count; the
// adjoint and checkpointed modes see one step's graph at a time.
//
// H is determined by the field only up to a constant: a parameter that only shifts H (the bias
// of an MLP's last layer) gets no gradient from a loss on the field or on a solve (backward
// leaves its grad undefined in Grad::direct and 0 in the adjoint and checkpointed modes; grad()
// needs allow_unused), which optimizers skip or leave where it is.
//
// H must not depend on t: the field ignores its time argument. For the symplectic steppers
// (Method::leapfrog, yoshida4), which need H(q, p) = T(p) + V(q), use SeparableHamiltonian.
#include <memory>

#include "odenet/nn/module.hpp"
#include "odenet/odeint/odeint.hpp"

namespace odenet::nn {

class Hamiltonian : public TimeLayer {
public:
    /// `h` maps states (N, 2m) to energies (N, 1) (e.g. an MLP ending in Linear(hidden, 1)).
    /// Throws ValueError for a null network.
    explicit Hamiltonian(std::shared_ptr<Layer> h);

    /// The symplectic gradient [∂H/∂p, −∂H/∂q] (N, 2m) at y (N, 2m), y's dtype; t is unused. For
    /// planes y (2, N, m), the field as planes [∂H/∂p; −∂H/∂q]. Throws ShapeError naming
    /// Hamiltonian for y neither (N, 2m) with 2m > 0 nor (2, N, m) with m > 0, or an H whose
    /// output is not (N, 1). See Note [Hamiltonian fields are gradients].
    Var forward(const Var& t, const Var& y) override;
    /// H(y) per sample: (N, 1), for rows or planes. The same ShapeErrors.
    Var energy(const Var& y);

    Layer& network() { return *h_; }

private:
    std::shared_ptr<Layer> h_;
};

class SeparableHamiltonian : public TimeLayer {
public:
    /// H(q, p) = T(p) + V(q): `kinetic` maps p (N, m) to (N, 1), `potential` maps q (N, m) to
    /// (N, 1). Throws ValueError for a null network.
    SeparableHamiltonian(std::shared_ptr<Layer> kinetic, std::shared_ptr<Layer> potential);

    /// [∂T/∂p, −∂V/∂q] (N, 2m) at y = [q, p] (N, 2m), or as planes for planes (2, N, m); t is
    /// unused. dq/dt depends on p only and dp/dt on q only, as leapfrog and yoshida4 require
    /// (with planes for N > 1). ShapeErrors naming SeparableHamiltonian as for Hamiltonian.
    Var forward(const Var& t, const Var& y) override;
    /// T(p) + V(q) per sample: (N, 1).
    Var energy(const Var& y);

    Layer& kinetic() { return *t_; }
    Layer& potential() { return *v_; }

private:
    std::shared_ptr<Layer> t_, v_;
};

/// What nn::odeint checks before a solve of `f` from y0 with a symplectic method (leapfrog,
/// yoshida4), which splits the flattened state in halves and needs a separable field: ValueError
/// naming the layer for a Hamiltonian (not separable: the method would silently stop being
/// symplectic; use SeparableHamiltonian) and for a SeparableHamiltonian on rows (N, 2m) with
/// N > 1 (the halves would be rows, not q and p: pass planes (2, N, m)). Nothing for other
/// dynamics or methods.
void check_symplectic_solve(const TimeLayer& f, const Var& y0, const ode::OdeintOptions& options);

}  // namespace odenet::nn
