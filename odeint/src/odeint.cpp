// odeint: validates the call, then hands it to one of the three gradient modes (odeint_direct.cpp,
// odeint_adjoint.cpp, odeint_checkpointed.cpp). The plain solver integrates in every mode; the
// modes only decide what is recorded and what the backward pass solves.
#include "odenet/odeint/odeint.hpp"

#include "odenet/core/enum_names.hpp"

#include "odeint_internal.hpp"

namespace odenet::ode {

namespace {
constexpr EnumNames kGradNames{std::array{std::pair{Grad::direct, "direct"}, std::pair{Grad::adjoint, "adjoint"},
                                          std::pair{Grad::checkpointed, "checkpointed"}}};
}  // namespace

const char* grad_name(Grad grad) { return kGradNames.name(grad); }
Grad grad_from_name(const std::string& name) { return kGradNames.parse(name, "grad_from_name", "gradient mode"); }

namespace {

std::vector<double> times_of(const Var& ts) {
    if (!ts.defined() || ts.dim() != 1 || ts.numel() == 0) {
        throw ShapeError("odeint", "ts must be a non-empty 1-d Var of times, got " +
                                       (ts.defined() ? "shape " + shape_str(ts.shape()) : std::string("an undefined Var")));
    }
    return ts.value().visit([](const auto& t) { return std::vector<double>(t.begin(), t.end()); });
}

// The symplectic methods (ode/symplectic.hpp) need a (q, p) state with a separable Hamiltonian.
// Grad::direct integrates y itself and records the steps: that works. The adjoint's backward
// integrates [y, a_y, a_theta], which is neither split in (q, p) halves nor separable, and the
// checkpointed backward re-solves single steps reading inner outputs from Runge-Kutta dense
// output, which these methods do not have: both refuse rather than silently solve something else.
void check_symplectic(const OdeintOptions& options) {
    const Method m = options.solver.method;
    if (is_symplectic(m) && options.grad != Grad::direct)
        throw ValueError("odeint", std::string(method_name(m)) + " (a symplectic method) works with Grad::direct "
                                   "only, not Grad::" + grad_name(options.grad) +
                                   ": use grad = Grad::direct, or a Runge-Kutta method");
    if (options.adjoint.method && is_symplectic(*options.adjoint.method))
        throw ValueError("odeint", "adjoint.method " + std::string(method_name(*options.adjoint.method)) +
                                   " is symplectic: the adjoint system is not a separable (q, p) Hamiltonian "
                                   "system; use a Runge-Kutta method");
}

}  // namespace

namespace detail {

OdeintSolution odeint_named(const Dynamics& f, const Var& y0, const Var& ts, const std::vector<Var>& params,
                            const std::vector<std::string>& names, const OdeintOptions& options) {
    if (!f) throw ValueError("odeint", "the dynamics f is empty");
    if (!y0.defined()) throw ValueError("odeint", "y0 is an undefined Var");
    validate(options.solver);
    check_symplectic(options);
    Problem p{f, y0, ts, times_of(ts), {}, {}, options};
    for (std::size_t i = 0; i < params.size(); ++i) {
        const std::string name = i < names.size() ? "parameter '" + names[i] + "'" : "parameter " + std::to_string(i);
        if (!params[i].defined()) throw ValueError("odeint", name + " is an undefined Var");
        if (params[i].dtype() != y0.dtype()) {
            throw DtypeError("odeint", name + " is " + dtype_name(params[i].dtype()) + " but y0 is " +
                                           dtype_name(y0.dtype()) + "; convert the module with to()");
        }
        if (params[i].requires_grad()) {
            p.params.push_back(params[i]);
            p.names.push_back(name);
            p.versions.push_back(params[i].version());
        }
    }
    try {
        if (is_implicit(options.solver.method) || options.solver.stiff_switch) {
            if (options.grad == Grad::direct)
                throw ValueError("odeint", (options.solver.stiff_switch
                                                ? std::string(method_name(options.solver.method)) + " with stiff_switch = " +
                                                      std::string(method_name(*options.solver.stiff_switch))
                                                : std::string(method_name(options.solver.method))) +
                                               " (implicit) does not work with Grad::direct: backprop through the LU "
                                               "solves of every step is not recorded; use Grad::adjoint or "
                                               "Grad::checkpointed, which solve the adjoint backwards with the same "
                                               "method (odeint.hpp)");
            return odeint_implicit(p);
        }
        switch (options.grad) {
            case Grad::direct: return odeint_direct(p);
            case Grad::adjoint: return odeint_adjoint(p);
            case Grad::checkpointed: return odeint_checkpointed(p);
        }
    } catch (const SolverError& e) {
        rethrow_forward(e, p);
    }
    throw ValueError("odeint", "unknown gradient mode");
}

}  // namespace detail

OdeintSolution odeint(const Dynamics& f, const Var& y0, const Var& ts, const std::vector<Var>& params,
                      const OdeintOptions& options) {
    return detail::odeint_named(f, y0, ts, params, {}, options);
}

}  // namespace odenet::ode
