// The checks that keep odeint from failing silently. See odeint_internal.hpp.
//
// Note [Parameters the dynamics reach]
// The adjoint and checkpointed modes differentiate with respect to the Vars listed as params and
// nothing else: their backward is a separate computation, not the tape. A trainable Var that f
// uses but the list omits (the default empty list, a forgotten submodule, a Var captured by a
// lambda) would get no gradient, the optimizer would skip it, and training would quietly do
// nothing for it. Every backward therefore looks, on its first evaluation of f with recording,
// at the leaves the result reaches (graph_leaves, one walk of one evaluation's graph) and throws
// if any is not the state or a listed parameter. When nothing at all requires grad, the forward
// finds the same by one recorded probe evaluation, since no backward would ever run. The walk
// stops at listed parameters: one that is not a leaf (a CDE path's coefficients, computed from
// data) passes its gradient on by the chain rule, so what it depends on is not "unlisted".
#include <cstdio>
#include <unordered_set>

#include "odenet/autodiff/anomaly_mode.hpp"
#include "odeint_internal.hpp"

namespace odenet::ode::detail {

std::string between(double a, double b) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "between t = %.10g and t = %.10g", a, b);
    return buf;
}

std::string nonfinite_in(const Value& v) {
    const auto bad = first_nonfinite(v);
    return bad ? describe_nonfinite(v, *bad) : std::string();
}

void check_reached_leaves(const std::vector<LeafRef>& found, const Var& y, const Problem& problem, const char* phase) {
    std::unordered_set<const VarImpl*> known{y.impl()};
    for (const Var& p : problem.params) known.insert(p.impl());
    std::vector<std::string> shapes;
    for (const LeafRef& leaf : found)
        if (!known.count(leaf.impl)) shapes.push_back(shape_str(leaf.shape));
    if (shapes.empty()) return;
    std::string list;
    for (std::size_t i = 0; i < shapes.size(); ++i) list += (i ? ", " : "") + shapes[i];
    throw GraphError(std::string("odeint (") + grad_name(problem.options.grad) + ", " + phase + ")",
                     "the dynamics use " + std::to_string(shapes.size()) + " trainable tensor" +
                         (shapes.size() == 1 ? "" : "s") + " not in params (shape" + (shapes.size() == 1 ? " " : "s ") +
                         list + "): their gradients would be lost. Pass the dynamics as a module, "
                         "nn::odeint(module, y0, ts), or list every Var f uses in params (" +
                         std::to_string(problem.params.size()) + " listed)");
}

void probe_unlisted_parameters(const Problem& problem) {
    EnableGradGuard recording;
    const Var y(problem.y0.value(), true);
    const Var out = problem.f(Var::scalar(problem.times[0], problem.y0.dtype()), y);
    check_reached_leaves(graph_leaves({out}, problem.params), y, problem, "forward");
}

void check_loss_gradient(const Value& G, const std::vector<double>& times, Grad grad) {
    const auto bad = first_nonfinite(G);
    if (!bad) return;
    const std::size_t per_row = G.size() / times.size(), i = per_row ? *bad / per_row : 0;
    char t[32];
    std::snprintf(t, sizeof t, "%.10g", times[i]);
    throw ValueError(std::string("odeint (") + grad_name(grad) + ", backward)",
                     "dL/dy(t) arriving from the loss at output time ts[" + std::to_string(i) + "] = " + t + " holds " +
                         describe_nonfinite(G, *bad) + " (the gradient of the solution ys): the loss or what "
                         "follows the solve is non-finite; DetectAnomalyGuard names the op");
}

void rethrow_forward(const SolverError& e, const Problem& problem) {
    std::string culprit;
    if (std::string s = nonfinite_in(problem.y0.value()); !s.empty()) culprit = "y0 holds " + s;
    for (std::size_t i = 0; culprit.empty() && i < problem.params.size(); ++i)
        if (std::string s = nonfinite_in(problem.params[i].value()); !s.empty())
            culprit = "the dynamics' " + problem.names[i] + " holds " + s;
    const bool nonfinite = e.component() != SolverError::kNoComponent ||
                           e.reason().find("NaN") != std::string::npos;
    if (culprit.empty() && nonfinite)
        culprit = "y0 and every listed parameter are finite, so f produced it (DetectAnomalyGuard names the op)";
    throw SolverError(std::string("odeint (") + grad_name(problem.options.grad) + ", forward solve " +
                          between(problem.times.front(), problem.times.back()) + ")",
                      e.t(), e.h(), culprit.empty() ? e.reason() : e.reason() + "; " + culprit, e.component());
}

void check_versions(const Problem& problem) {
    for (std::size_t i = 0; i < problem.params.size() && i < problem.versions.size(); ++i) {
        const std::uint32_t now = problem.params[i].version();
        if (now == problem.versions[i]) continue;
        throw GraphError(std::string("odeint (") + grad_name(problem.options.grad) + ", backward)",
                         "the dynamics' " + problem.names[i] + " (shape " + shape_str(problem.params[i].shape()) +
                             ") was modified in place since the forward solve (version saved " +
                             std::to_string(problem.versions[i]) + ", now " + std::to_string(now) +
                             "); change it after the backward, or solve again");
    }
}

void forbid_create_graph(const Problem& problem) {
    if (!GradMode::enabled()) return;
    throw GraphError(std::string("odeint (") + grad_name(problem.options.grad) + ", backward)",
                     "create_graph through this mode is not supported: its gradients come from a separate "
                     "backward solve, so their own derivatives would be silently zero. Use grad = direct "
                     "for higher-order gradients through a solve");
}

}  // namespace odenet::ode::detail
