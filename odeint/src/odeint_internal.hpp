#pragma once
// What the three gradient modes of odeint share (odeint_direct.cpp, odeint_adjoint.cpp,
// odeint_checkpointed.cpp): the problem as one value, plain evaluations of f, and the checks
// that turn a silent failure into an error naming the user's objects (odeint_checks.cpp).
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "odenet/autodiff/grad_mode.hpp"
#include "odenet/autodiff/graph_leaves.hpp"
#include "odenet/autodiff/node.hpp"
#include "odenet/autodiff/ops.hpp"
#include "odenet/core/error.hpp"
#include "odenet/odeint/odeint.hpp"

namespace odenet::ode::detail {

/// One call of odeint. `f` is the caller's copy; nodes that call f later keep their own copy
/// (a module's dynamics hold the module by shared_ptr, so the graph shares its ownership).
struct Problem {
    Dynamics f;
    Var y0;
    Var ts;
    std::vector<double> times;
    std::vector<Var> params;         ///< the trainable ones (requires_grad), in the caller's order
    std::vector<std::string> names;  ///< one per entry of params ("parameter 2" when unnamed)
    OdeintOptions options;
    std::vector<std::uint32_t> versions{};  ///< params' versions at the forward (see check_versions)
};

/// Throws GraphError if a parameter was changed in place since the forward solve: the adjoint
/// modes re-evaluate f with the parameters' current values, so the gradient would silently be
/// that of other weights (the tape's SavedVar check, for the Vars these modes keep).
void check_versions(const Problem& problem);

// f(t, y) as a value, nothing recorded.
template <class T>
Tensor<T> eval_plain(const Dynamics& f, double t, const Tensor<T>& y) {
    NoGradGuard no_grad;
    return f(Var::scalar(t, dtype_of<T>()), Var(y)).value().template as<T>();
}

template <class T>
double dot(const Tensor<T>& a, const Tensor<T>& b) {
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) s += double(a.data()[i]) * double(b.data()[i]);
    return s;
}

template <class T>
Tensor<T> stack_values(const std::vector<Tensor<T>>& ys) {
    Shape shape{ys.size()};
    for (std::size_t e : ys[0].shape()) shape.push_back(e);
    Tensor<T> out = Tensor<T>::from_shape(shape);
    const std::size_t m = ys[0].size();
    for (std::size_t i = 0; i < ys.size(); ++i) std::copy(ys[i].begin(), ys[i].end(), out.data() + i * m);
    return out;
}

template <class T>
Tensor<T> row(const Tensor<T>& stacked, std::size_t i, const Shape& shape) {
    const std::size_t m = numel(shape);
    Tensor<T> out = Tensor<T>::from_shape(shape);
    std::copy(stacked.data() + i * m, stacked.data() + (i + 1) * m, out.data());
    return out;
}

inline void add_into(SolveStats& total, const SolveStats& s) {
    total.nfe += s.nfe;
    total.accepted += s.accepted;
    total.rejected += s.rejected;
    total.njac += s.njac;
    total.nlu += s.nlu;
    total.nsolve += s.nsolve;
    total.newton += s.newton;
    total.switches += s.switches;
    total.stiff_steps += s.stiff_steps;
}

/// The options of an adjoint's backward solve: the forward's, with AdjointOptions' method and
/// tolerances, no step callback, and with `seminorm` the RMS over the first state_size entries
/// only (the parameter gradients after them do not feed back).
Options backward_options(const OdeintOptions& o, std::size_t state_size);

/// The node's gradients in input order [y0, ts, params...].
template <class T>
Grads input_gradients(Tensor<T> a, const std::vector<double>& t_grad, bool want_t, std::vector<Tensor<T>>& a_theta) {
    Grads grads{Var(std::move(a)), Var()};
    if (want_t) {
        Tensor<double> tg = Tensor<double>::from_shape({t_grad.size()});
        std::copy(t_grad.begin(), t_grad.end(), tg.begin());
        grads[1] = Var(std::move(tg));
    }
    for (auto& g : a_theta) grads.push_back(Var(std::move(g)));
    return grads;
}

// ---- checks (odeint_checks.cpp) --------------------------------------------------------------

/// Throws GraphError if `found` (the trainable leaves f reached) holds one that is neither the
/// state `y` nor one of problem.params: its gradient would be lost. Names how many, their shapes
/// and the fix.
void check_reached_leaves(const std::vector<LeafRef>& found, const Var& y, const Problem& problem, const char* phase);

/// Forward of the adjoint modes when nothing requires grad: f is evaluated once with recording
/// to find trainable leaves it uses that params omit (else the loss would silently not require grad).
void probe_unlisted_parameters(const Problem& problem);

/// Throws ValueError if the loss gradient G = dL/dys is non-finite, naming the output time.
void check_loss_gradient(const Value& G, const std::vector<double>& times, Grad grad);

/// Rethrows a SolverError of the forward solve with the phase and, when y0 or a parameter
/// holds a NaN or Inf, which one.
[[noreturn]] void rethrow_forward(const SolverError& e, const Problem& problem);

/// Throws GraphError: create_graph cannot go through a mode whose backward is a separate solve.
void forbid_create_graph(const Problem& problem);

/// "between t = 1 and t = 0.5" for error messages.
std::string between(double a, double b);

/// "nan at flat index 3 of shape (2, 2)" if `v` holds a non-finite value, else empty.
std::string nonfinite_in(const Value& v);

// ---- the modes ------------------------------------------------------------------------------
OdeintSolution odeint_direct(const Problem& problem);
OdeintSolution odeint_adjoint(const Problem& problem);
OdeintSolution odeint_checkpointed(const Problem& problem);
/// Grad::adjoint and Grad::checkpointed with an implicit method or a stiff_switch (Note [The
/// adjoint through an implicit method], odeint_implicit.cpp).
OdeintSolution odeint_implicit(const Problem& problem);

}  // namespace odenet::ode::detail
