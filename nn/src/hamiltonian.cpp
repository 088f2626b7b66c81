// Hamiltonian and separable Hamiltonian dynamics. See hamiltonian.hpp for the equations and
// Note [Hamiltonian fields are gradients].
#include "odenet/nn/hamiltonian.hpp"

#include <functional>
#include <string>

#include "odenet/autodiff/engine.hpp"
#include "odenet/autodiff/grad_mode.hpp"
#include "odenet/autodiff/ops.hpp"
#include "odenet/core/error.hpp"
#include "odenet/ode/tableau.hpp"

namespace odenet::nn {

namespace {

using EnergyFn = std::function<Var(const Var&)>;

// m, half the width of states y (N, 2m) = [q, p], or of planes (2, N, m) = [q; p].
std::size_t half_width(const Var& y, const char* layer) {
    if (y.dim() == 3 && y.shape()[0] == 2 && y.shape()[2] > 0) return y.shape()[2];
    if (y.dim() != 2 || y.shape()[1] == 0 || y.shape()[1] % 2 != 0)
        throw ShapeError(layer, "expects states (N, 2m) = [q, p] of an even width > 0, or planes (2, N, m) = [q; p], got " +
                                    shape_str(y.shape()));
    return y.shape()[1] / 2;
}

// Planes (2, N, m) as rows (N, 2m), and back; rows are returned as they are.
Var as_rows(const Var& y) {
    if (y.dim() == 2) return y;
    return reshape(permute(y, {1, 0, 2}), {y.shape()[1], 2 * y.shape()[2]});
}
Var like(const Var& rows, const Var& y) {
    if (y.dim() == 2) return rows;
    return permute(reshape(rows, {y.shape()[1], 2, y.shape()[2]}), {1, 0, 2});
}

// An energy network's output, checked to be one number per sample.
Var checked_energy(const Var& h, std::size_t n, const char* layer, const std::string& what) {
    if (h.dim() != 2 || h.shape()[0] != n || h.shape()[1] != 1)
        throw ShapeError(layer, what + " must return (N, 1) = (" + std::to_string(n) + ", 1) energies, got " +
                                    shape_str(h.shape()));
    return h;
}

// ∇H(y) (N, 2m): per-sample gradients, as H of one sample does not depend on another's state, so
// the gradient of Σₙ Hₙ with respect to row n is ∇Hₙ. Recorded (create_graph) when recording is
// on; plain values otherwise (Note [Hamiltonian fields are gradients]).
Var energy_gradient(const EnergyFn& energy, const Var& y) {
    const bool record = GradMode::enabled();
    EnableGradGuard on;
    Var x = y;
    if (!record || !y.requires_grad()) {
        x = y.detach();
        x.set_requires_grad(true);
    }
    // allow_unused: an H that ignores part of the state (a quadratic in q alone) has a zero
    // gradient there, not an error.
    return grad(sum(energy(x)), x, Var(), {.create_graph = record, .allow_unused = true});
}

// [∂H/∂p, −∂H/∂q] from ∇H = [∂H/∂q, ∂H/∂p].
Var symplectic(const Var& dh, std::size_t m) {
    return concat({slice(dh, 1, m, 2 * m), neg(slice(dh, 1, 0, m))}, 1);
}

}  // namespace

Hamiltonian::Hamiltonian(std::shared_ptr<Layer> h) : h_(std::move(h)) {
    if (!h_) throw ValueError("Hamiltonian", "the energy network is null");
    register_module("h", h_);
}

Var Hamiltonian::energy(const Var& y) {
    half_width(y, "Hamiltonian");
    const Var rows = as_rows(y);
    return checked_energy(h_->forward(rows), rows.shape()[0], "Hamiltonian", "the energy network H(q, p)");
}

Var Hamiltonian::forward(const Var& /*t*/, const Var& y) {
    const std::size_t m = half_width(y, "Hamiltonian");
    return like(symplectic(energy_gradient([this](const Var& x) { return energy(x); }, as_rows(y)), m), y);
}

SeparableHamiltonian::SeparableHamiltonian(std::shared_ptr<Layer> kinetic, std::shared_ptr<Layer> potential)
    : t_(std::move(kinetic)), v_(std::move(potential)) {
    if (!t_ || !v_) throw ValueError("SeparableHamiltonian", std::string("the ") + (t_ ? "potential" : "kinetic") + " network is null");
    register_module("kinetic", t_);
    register_module("potential", v_);
}

Var SeparableHamiltonian::energy(const Var& y) {
    const std::size_t m = half_width(y, "SeparableHamiltonian");
    if (y.dim() == 3) return energy(as_rows(y));
    const std::size_t n = y.shape()[0];
    const Var kinetic = checked_energy(t_->forward(slice(y, 1, m, 2 * m)), n, "SeparableHamiltonian", "the kinetic network T(p)");
    const Var potential = checked_energy(v_->forward(slice(y, 1, 0, m)), n, "SeparableHamiltonian", "the potential network V(q)");
    return kinetic + potential;
}

Var SeparableHamiltonian::forward(const Var& /*t*/, const Var& y) {
    const std::size_t m = half_width(y, "SeparableHamiltonian");
    return like(symplectic(energy_gradient([this](const Var& x) { return energy(x); }, as_rows(y)), m), y);
}

void check_symplectic_solve(const TimeLayer& f, const Var& y0, const ode::OdeintOptions& options) {
    const ode::Method m = options.solver.method;
    if (!ode::is_symplectic(m)) return;
    const std::string method(ode::method_name(m));
    if (dynamic_cast<const Hamiltonian*>(&f))
        throw ValueError("nn::odeint", method + " needs a separable H(q, p) = T(p) + V(q); a Hamiltonian's H is general, so "
                                                "the method would not be symplectic: use SeparableHamiltonian, or a "
                                                "Runge-Kutta method");
    if (dynamic_cast<const SeparableHamiltonian*>(&f) && y0.dim() == 2 && y0.shape()[0] > 1)
        throw ValueError("nn::odeint", method + " splits the flattened state in halves, which for rows (N, 2m) with N = " +
                                           std::to_string(y0.shape()[0]) +
                                           " are not q and p: pass a SeparableHamiltonian's batch as planes (2, N, m) = [q; p]");
}

}  // namespace odenet::nn
