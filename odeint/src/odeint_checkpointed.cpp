// Grad::checkpointed: the forward keeps the state at every accepted step; the backward re-solves
// each step once from its checkpoint with recording (the output times inside the step read from
// its dense output, on the tape) and backprops the adjoint state through it.
#include "odenet/autodiff/engine.hpp"
#include "odenet/autodiff/ops.hpp"
#include "odenet/autodiff/record.hpp"
#include "odenet/ode/solve_compiled.hpp"
#include "odenet/odeint/var_state.hpp"
#include "odeint_internal.hpp"
#include "solve_var.hpp"

namespace odenet::ode::detail {

namespace {

// Note [One re-solve per forward step] (#18)
// The backward re-solves each accepted forward step k, [t_k, t_{k+1}], once: solve_var from the
// checkpoint y_k over {t_k, the output times strictly inside the step, t_{k+1}} with first_step
// |t_{k+1} − t_k|, so the solver takes that one step and reads the inner outputs from its dense
// output, recorded as Var ops. One backprop per step seeds each inner output with its row G_i of
// the loss gradient and the step's end with the adjoint a(t_{k+1}); it returns a(t_k) and the
// step's parameter gradients. This is the gradient of the forward's own discrete solve, as direct
// mode computes it, at the memory of one step's tape. (Before, every output time was a checkpoint
// too and each piece between checkpoints was re-solved as a step of its own: about one step per
// output time, 805 evaluations for the forward's 98 with 100 outputs in 16 steps; now 16 x 7 =
// 112. Both add the 101 evaluations of f(tᵢ, yᵢ) for dL/dts.) Gradients now match direct mode's
// to rounding rather than to the solver's tolerance.
// An output time exactly at a step's end is that step's end state: it joins a once, at that
// boundary, and is never an inner output. The re-solve's arithmetic (on Vars) may differ from
// the forward's compiled one in the last bits, so a step whose error ratio was within rounding
// of 1 may be rejected and re-solved in smaller steps: still the gradient of a solve at the same
// tolerance, only costlier, and counted in backward().rejected.

constexpr std::size_t kNoOutput = static_cast<std::size_t>(-1);

// The accepted steps of one forward solve and where the output times fall among them.
template <class T>
struct Checkpoints {
    std::vector<double> times;     // t0, then every accepted step's end; the last is ts.back()
    std::vector<Tensor<T>> states;  // the state at the start of every step (times[k], k < K)
    // outputs_from[k]: the first output index i with ts[i] at or past times[k] in the direction of
    // integration; the outputs in [times[k], times[k+1]) are [outputs_from[k], outputs_from[k+1]).
    std::vector<std::size_t> outputs_from;
    std::vector<Tensor<T>> outputs;  // the states at ts, for dL/dts; kept only when ts requires grad

    std::size_t steps() const { return times.size() - 1; }
    // The index of the output time exactly at times[k], or kNoOutput.
    std::size_t output_at(std::size_t k, const std::vector<double>& ts) const {
        const std::size_t i = outputs_from[k];
        return i < ts.size() && ts[i] == times[k] ? i : kNoOutput;
    }
};

template <class T>
Checkpoints<T> checkpoints_of(Solution<Tensor<T>>& sol, bool keep_outputs) {
    const std::vector<double>& ts = sol.ts;
    Checkpoints<T> c;
    c.times.push_back(ts[0]);
    c.times.insert(c.times.end(), sol.step_ts.begin(), sol.step_ts.end());
    c.states.push_back(sol.ys[0]);
    for (std::size_t s = 0; s + 1 < sol.step_ys.size(); ++s) c.states.push_back(std::move(sol.step_ys[s]));
    const double dir = ts.size() > 1 && ts.back() < ts.front() ? -1.0 : 1.0;
    std::size_t i = 0;
    for (double t : c.times) {
        while (i < ts.size() && dir * (ts[i] - t) < 0) ++i;
        c.outputs_from.push_back(i);
    }
    if (keep_outputs) c.outputs = sol.ys;
    return c;
}

// Step k re-solved from its checkpoint with recording over `times` = {t_k, inner outputs...,
// t_{k+1}}, then one backprop seeded with `seeds` (one per times[1..]): returns the VJPs with
// respect to [y_k, params...]. The first step re-solved also looks for parameters missing from
// the list.
template <class T>
std::vector<Var> backprop_step(const Problem& p, const std::vector<double>& times, const Tensor<T>& y_start,
                               const std::vector<Var>& seeds, bool check_leaves, SolveStats& total) {
    EnableGradGuard recording;
    const Dynamics& f = p.f;
    auto timed = [&f](double t, const Var& y) { return f(Var::scalar(t, dtype_of<T>()), y); };
    const double t0 = times.front(), t1 = times.back();
    Options opt = p.options.solver;
    opt.step_callback = nullptr;
    // The forward crossed [t0, t1] in one accepted step: starting with it makes the re-solve that
    // one step, with no starting-step search (Note [One re-solve per forward step]).
    opt.first_step = std::abs(t1 - t0);
    Var yj(y_start, true);
    Solution<Var> seg;
    try {
        seg = solve_var(timed, yj, times, opt);
    } catch (const SolverError& e) {
        throw SolverError("odeint (checkpointed, backward re-solve " + between(t0, t1) + ")", e.t(), e.h(), e.reason(),
                          e.component());
    }
    add_into(total, seg.stats);
    std::vector<Var> roots, grad_outputs;
    for (std::size_t i = 1; i < seg.ys.size(); ++i) {
        if (!seg.ys[i].requires_grad()) continue;
        roots.push_back(seg.ys[i]);
        grad_outputs.push_back(seeds[i - 1]);
    }
    if (check_leaves) check_reached_leaves(graph_leaves(roots, p.params), yj, p, "backward");
    std::vector<Var> inputs{yj};
    inputs.insert(inputs.end(), p.params.begin(), p.params.end());
    if (roots.empty()) {
        std::vector<Var> zeros;
        for (const Var& x : inputs) zeros.push_back(zeros_like(x));
        return zeros;
    }
    std::vector<Var> g = grad(roots, inputs, grad_outputs, {.allow_unused = true});
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
Grads checkpointed_backward(const Problem& p, const Checkpoints<T>& cp, const Tensor<T>& G, SolveStats& total,
                            const BackwardContext& ctx) {
    const Shape shape = p.y0.shape();
    const std::vector<double>& ts = p.times;
    std::vector<Tensor<T>> a_theta;
    for (const Var& q : p.params) a_theta.push_back(xt::zeros<T>(q.shape()));
    std::vector<double> t_grad(ts.size(), 0.0);
    const bool want_t = ctx.needs(1);
    // dL/dtᵢ = ⟨Gᵢ, f(tᵢ, yᵢ)⟩ for i ≥ 1.
    auto time_gradient = [&](std::size_t i) {
        if (!want_t || i == 0) return;
        t_grad[i] = dot(row(G, i, shape), eval_plain(p.f, ts[i], cp.outputs[i]));
        ++total.nfe;
    };
    Tensor<T> a = xt::zeros<T>(shape);  // dL/dy at the current step boundary
    // An output time at step boundary k joins the adjoint there, once.
    auto join_output_at = [&](std::size_t k) {
        const std::size_t i = cp.output_at(k, ts);
        if (i == kNoOutput) return;
        if (i == 0 && want_t) {
            // dL/dt0 = −⟨dL/dy0, f(t0, y0)⟩ without G's row 0: y(t0) = y0 does not move with t0.
            t_grad[0] = -dot(a, eval_plain(p.f, ts[0], cp.states[0]));
            ++total.nfe;
        }
        time_gradient(i);
        a += row(G, i, shape);
    };
    const std::size_t K = cp.steps();
    join_output_at(K);
    for (std::size_t k = K; k-- > 0;) {
        const std::size_t inner_begin = cp.outputs_from[k] + (cp.output_at(k, ts) == kNoOutput ? 0 : 1);
        const std::size_t inner_end = cp.outputs_from[k + 1];
        std::vector<double> times{cp.times[k]};
        std::vector<Var> seeds;
        for (std::size_t i = inner_begin; i < inner_end; ++i) {
            times.push_back(ts[i]);
            seeds.push_back(Var(row(G, i, shape)));
            time_gradient(i);
        }
        times.push_back(cp.times[k + 1]);
        seeds.push_back(Var(a));
        std::vector<Var> g = backprop_step<T>(p, times, cp.states[k], seeds, k + 1 == K, total);
        a = g[0].value().template as<T>();
        for (std::size_t q = 0; q < p.params.size(); ++q) a_theta[q] += g[q + 1].value().template as<T>();
        join_output_at(k);
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
    Checkpoints<T> cp = checkpoints_of(sol, p.ts.requires_grad());
    Value outs(stack_values(sol.ys));
    const bool any_grad = p.y0.requires_grad() || p.ts.requires_grad() || !p.params.empty();
    if (GradMode::enabled() && !any_grad) probe_unlisted_parameters(p);
    auto backward_stats = std::make_shared<SolveStats>();
    std::vector<Var> inputs{p.y0, p.ts};
    inputs.insert(inputs.end(), p.params.begin(), p.params.end());
    // As in the adjoint, the node owns a copy of the problem (and so of f).
    Var ys = record("odeint_checkpointed", std::move(outs), inputs,
                    [problem = p, cp = std::move(cp), backward_stats,
                     ts_dtype = p.ts.dtype()](const Var& gy, const BackwardContext& ctx) -> Grads {
                        forbid_create_graph(problem);
                        check_versions(problem);
                        check_loss_gradient(gy.value(), problem.times, Grad::checkpointed);
                        *backward_stats = {};
                        Grads g = checkpointed_backward<T>(problem, cp, gy.value().template as<T>(), *backward_stats, ctx);
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
