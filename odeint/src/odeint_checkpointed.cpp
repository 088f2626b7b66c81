// Grad::checkpointed: the forward keeps the state at every accepted step; the backward re-solves
// each step from its checkpoint with recording and backprops the adjoint state through it.
#include "odenet/autodiff/engine.hpp"
#include "odenet/autodiff/ops.hpp"
#include "odenet/autodiff/record.hpp"
#include "odenet/ode/solve_compiled.hpp"
#include "odenet/odeint/var_state.hpp"
#include "odeint_internal.hpp"
#include "solve_var.hpp"

namespace odenet::ode::detail {

namespace {

struct Checkpoints {
    std::vector<double> times;           // every accepted step boundary and every output time
    std::vector<std::size_t> output_at;  // index in `times` of each output time
};

// The checkpoints of one forward solve: t0, then every accepted step's end and every output time
// in order, each once, with its state (an output time that is a step's end is that step's state;
// one inside a step is its dense output, and the backward re-solves the two parts separately).
template <class T>
Checkpoints checkpoints_of(const Solution<Tensor<T>>& sol, std::vector<Tensor<T>>& states) {
    const std::vector<double>& ts = sol.ts;
    Checkpoints c{{ts[0]}, {0}};
    states.push_back(sol.ys[0]);
    const double dir = ts.size() > 1 && ts.back() < ts.front() ? -1.0 : 1.0;
    std::size_t s = 0;
    for (std::size_t i = 1; i < ts.size(); ++i) {
        for (; s < sol.step_ts.size() && dir * (sol.step_ts[s] - ts[i]) < 0; ++s) {
            c.times.push_back(sol.step_ts[s]);
            states.push_back(sol.step_ys[s]);
        }
        if (s < sol.step_ts.size() && sol.step_ts[s] == ts[i]) ++s;
        c.output_at.push_back(c.times.size());
        c.times.push_back(ts[i]);
        states.push_back(sol.ys[i]);
    }
    return c;
}

// One step re-solved from its checkpoint with recording; returns the VJPs of a with respect to
// [y_j, params...]. The first step also looks for parameters missing from the list.
template <class T>
std::vector<Var> backprop_step(const Problem& p, double t0, double t1, const Tensor<T>& y_start, const Tensor<T>& a,
                               bool check_leaves, SolveStats& total) {
    EnableGradGuard recording;
    const Dynamics& f = p.f;
    auto timed = [&f](double t, const Var& y) { return f(Var::scalar(t, dtype_of<T>()), y); };
    Options opt = p.options.solver;
    opt.step_callback = nullptr;
    // The forward crossed [t0, t1] in one accepted step (or part of one, cut at an output time):
    // starting with that step makes the re-solve one step, with no starting-step search.
    opt.first_step = std::abs(t1 - t0);
    Var yj(y_start, true);
    Solution<Var> seg;
    try {
        seg = solve_var(timed, yj, {t0, t1}, opt);
    } catch (const SolverError& e) {
        throw SolverError("odeint (checkpointed, backward re-solve " + between(t0, t1) + ")", e.t(), e.h(), e.reason(),
                          e.component());
    }
    add_into(total, seg.stats);
    if (check_leaves) check_reached_leaves(graph_leaves({seg.ys[1]}), yj, p, "backward");
    std::vector<Var> inputs{yj};
    inputs.insert(inputs.end(), p.params.begin(), p.params.end());
    if (!seg.ys[1].requires_grad()) {
        std::vector<Var> zeros;
        for (const Var& x : inputs) zeros.push_back(zeros_like(x));
        return zeros;
    }
    std::vector<Var> g = grad({seg.ys[1]}, inputs, {Var(a)}, {.allow_unused = true});
    for (std::size_t k = 0; k < g.size(); ++k) {
        if (std::string bad = nonfinite_in(g[k].value()); !bad.empty()) {
            throw ValueError("odeint (checkpointed, backward step " + between(t0, t1) + ")",
                             (k == 0 ? std::string("the adjoint state dL/dy(t)") : "the gradient of the dynamics' " + p.names[k - 1]) +
                                 " became non-finite: " + bad);
        }
    }
    return g;
}

template <class T>
Grads checkpointed_backward(const Problem& p, const Checkpoints& cp, const std::vector<Tensor<T>>& states,
                            const Tensor<T>& G, SolveStats& total, const BackwardContext& ctx) {
    const Shape shape = p.y0.shape();
    const std::vector<double>& ts = p.times;
    const std::size_t n = ts.size();
    std::vector<Tensor<T>> a_theta;
    for (const Var& q : p.params) a_theta.push_back(xt::zeros<T>(q.shape()));
    std::vector<double> t_grad(n, 0.0);
    const bool want_t = ctx.needs(1);
    std::size_t out = n - 1;
    Tensor<T> a = row(G, out, shape);
    for (std::size_t j = cp.times.size() - 1; j >= 1; --j) {
        if (want_t && out < n && cp.output_at[out] == j && out > 0) {
            t_grad[out] = dot(row(G, out, shape), eval_plain(p.f, ts[out], states[j]));
            ++total.nfe;
        }
        const bool first = j == cp.times.size() - 1;
        std::vector<Var> g = backprop_step<T>(p, cp.times[j - 1], cp.times[j], states[j - 1], a, first, total);
        a = g[0].value().template as<T>();
        for (std::size_t q = 0; q < p.params.size(); ++q) a_theta[q] += g[q + 1].value().template as<T>();
        if (out > 0 && cp.output_at[out - 1] == j - 1) {
            --out;
            if (out == 0 && want_t) {
                t_grad[0] = -dot(a, eval_plain(p.f, ts[0], states[0]));
                ++total.nfe;
            }
            a += row(G, out, shape);
        }
    }
    return input_gradients(std::move(a), t_grad, want_t, a_theta);
}

template <class T>
OdeintSolution checkpointed_forward(const Problem& p) {
    const Dynamics& f = p.f;
    auto fv = [&f](double t, const Tensor<T>& y) { return eval_plain(f, t, y); };
    // One solve that keeps every accepted step's state: the checkpoints (#18; it used to solve
    // twice, once to find the steps and once to keep their states).
    Options keep = p.options.solver;
    keep.save_steps = true;
    Solution<Tensor<T>> sol = solve_compiled(fv, p.y0.value<T>(), p.times, keep);
    SolveStats forward = sol.stats;
    std::vector<Tensor<T>> states;
    Checkpoints cp = checkpoints_of(sol, states);
    std::vector<Tensor<T>> outs = std::move(sol.ys);
    const bool any_grad = p.y0.requires_grad() || p.ts.requires_grad() || !p.params.empty();
    if (GradMode::enabled() && !any_grad) probe_unlisted_parameters(p);
    auto backward_stats = std::make_shared<SolveStats>();
    std::vector<Var> inputs{p.y0, p.ts};
    inputs.insert(inputs.end(), p.params.begin(), p.params.end());
    // As in the adjoint, the node owns a copy of the problem (and so of f).
    Var ys = record("odeint_checkpointed", Value(stack_values(outs)), inputs,
                    [problem = p, cp = std::move(cp), states = std::move(states), backward_stats,
                     ts_dtype = p.ts.dtype()](const Var& gy, const BackwardContext& ctx) -> Grads {
                        forbid_create_graph(problem);
                        check_versions(problem);
                        check_loss_gradient(gy.value(), problem.times, Grad::checkpointed);
                        *backward_stats = {};
                        Grads g = checkpointed_backward<T>(problem, cp, states, gy.value().template as<T>(),
                                                           *backward_stats, ctx);
                        if (g[1].defined()) g[1] = to_dtype(g[1], ts_dtype);
                        return g;
                    });
    return OdeintSolution(ys, forward, backward_stats);
}

}  // namespace

OdeintSolution odeint_checkpointed(const Problem& p) {
    return p.y0.dtype() == Dtype::float32 ? checkpointed_forward<float>(p) : checkpointed_forward<double>(p);
}

}  // namespace odenet::ode::detail
