// Grad::adjoint: the continuous adjoint of Chen et al. (2018), Algorithm 1. The forward is a plain
// solve recorded as one node; its backward integrates the augmented system from the last output
// time to the first with the same solver.
#include <cmath>
#include <functional>

#include "odenet/autodiff/engine.hpp"
#include "odenet/autodiff/record.hpp"
#include "odenet/ode/norms.hpp"
#include "odenet/ode/solve_compiled.hpp"
#include "odeint_internal.hpp"

namespace odenet::ode::detail {

namespace {

// The augmented system [y, a, a_θ] of Chen et al. (2018), Algorithm 1, as one flat vector:
// dy/dt = f, da/dt = −aᵀ ∂f/∂y, da_θ/dt = −aᵀ ∂f/∂θ; the two VJPs are one grad() call.
template <class T>
class AugmentedDynamics {
public:
    AugmentedDynamics(const Problem& p, const Shape& shape) : p_(p), shape_(shape), m_(numel(shape)) {
        size_ = 2 * m_;
        for (const Var& q : p_.params) size_ += q.numel();
    }
    std::size_t size() const { return size_; }
    std::size_t state_size() const { return 2 * m_; }

    Tensor<T> pack(const Tensor<T>& y, const Tensor<T>& a, const std::vector<Tensor<T>>& a_theta) const {
        Tensor<T> s = Tensor<T>::from_shape({size_});
        T* q = std::copy(y.begin(), y.end(), s.data());
        q = std::copy(a.begin(), a.end(), q);
        for (const auto& g : a_theta) q = std::copy(g.begin(), g.end(), q);
        return s;
    }
    Tensor<T> part(const Tensor<T>& s, std::size_t offset, const Shape& shape) const {
        Tensor<T> out = Tensor<T>::from_shape(shape);
        std::copy(s.data() + offset, s.data() + offset + out.size(), out.data());
        return out;
    }
    Tensor<T> y(const Tensor<T>& s) const { return part(s, 0, shape_); }
    Tensor<T> a(const Tensor<T>& s) const { return part(s, m_, shape_); }
    std::vector<Tensor<T>> a_theta(const Tensor<T>& s) const {
        std::vector<Tensor<T>> out;
        std::size_t offset = 2 * m_;
        for (const Var& q : p_.params) {
            out.push_back(part(s, offset, q.shape()));
            offset += q.numel();
        }
        return out;
    }

    bool is_state(std::size_t flat) const { return flat < m_; }
    // Which user-visible quantity entry `flat` of the augmented state is, for error messages.
    std::string describe(std::size_t flat) const {
        if (flat == SolverError::kNoComponent) return "";
        if (flat < m_) return "the state y(t), recomputed backwards, at flat index " + std::to_string(flat) + " of shape " + shape_str(shape_);
        if (flat < 2 * m_)
            return "the adjoint state dL/dy(t) at flat index " + std::to_string(flat - m_) + " of shape " + shape_str(shape_);
        std::size_t offset = 2 * m_;
        for (std::size_t j = 0; j < p_.params.size(); ++j) {
            const std::size_t n = p_.params[j].numel();
            if (flat < offset + n)
                return "the gradient of the dynamics' " + p_.names[j] + " at flat index " + std::to_string(flat - offset) +
                       " of shape " + shape_str(p_.params[j].shape());
            offset += n;
        }
        return "";
    }

    Tensor<T> operator()(double t, const Tensor<T>& s) const {
        EnableGradGuard recording;  // a nested recording scope inside the engine's backward
        Var y(this->y(s), true);
        Var neg_a(Tensor<T>(-this->a(s)));
        Var out = p_.f(Var::scalar(t, dtype_of<T>()), y);
        if (!checked_) {  // Note [Parameters the dynamics reach], odeint_checks.cpp
            check_reached_leaves(graph_leaves({out}, p_.params), y, p_, "backward");
            checked_ = true;
        }
        std::vector<Var> inputs{y};
        inputs.insert(inputs.end(), p_.params.begin(), p_.params.end());
        std::vector<Var> vjps;
        if (out.requires_grad()) {
            vjps = grad({out}, inputs, {neg_a}, {.allow_unused = true});
        } else {
            for (const Var& x : inputs) vjps.push_back(zeros_like(x));
        }
        Tensor<T> ds = Tensor<T>::from_shape({size_});
        const Tensor<T>& dy = out.value().template as<T>();
        T* q = std::copy(dy.begin(), dy.end(), ds.data());
        for (const Var& g : vjps) {
            const Tensor<T>& gv = g.value().template as<T>();
            q = std::copy(gv.begin(), gv.end(), q);
        }
        return ds;
    }

private:
    const Problem& p_;
    Shape shape_;
    std::size_t m_;
    std::size_t size_;
    mutable bool checked_ = false;
};


template <class T>
Grads adjoint_backward(const Problem& p, const Tensor<T>& Y, const Tensor<T>& G, SolveStats& total,
                       const BackwardContext& ctx) {
    NoGradGuard no_grad;  // only the augmented dynamics record, in their own scope
    const Shape shape = p.y0.shape();
    const std::vector<double>& times = p.times;
    AugmentedDynamics<T> aug(p, shape);
    // Each segment's solve starts with the step the previous one planned (Solution::next_step),
    // not a new starting-step search (#18).
    Options opt = backward_options(p.options, aug.state_size());
    const std::size_t n = times.size();
    Tensor<T> a = row(G, n - 1, shape);
    std::vector<Tensor<T>> a_theta;
    for (const Var& q : p.params) a_theta.push_back(xt::zeros<T>(q.shape()));
    std::vector<double> t_grad(n, 0.0);
    const bool want_t = ctx.needs(1);
    for (std::size_t i = n - 1; i >= 1; --i) {
        const Tensor<T> yi = row(Y, i, shape);
        if (want_t) {
            t_grad[i] = dot(row(G, i, shape), eval_plain(p.f, times[i], yi));
            ++total.nfe;
        }
        Solution<Tensor<T>> seg;
        try {
            seg = solve_compiled(TensorRhs<T>(std::cref(aug)), aug.pack(yi, a, a_theta), {times[i], times[i - 1]}, opt);
        } catch (const SolverError& e) {
            // The integrator's own words name the packed augmented state; say which user-visible
            // quantity that entry is instead, and keep its words only when it is none of them.
            const std::string part = aug.describe(e.component());
            // The forward solve succeeded, so a backward failure is often y recomputed backwards
            // leaving the forward trajectory: on stiff dynamics the modes that decayed grow.
            const std::string stiff_hint =
                "; if f is stiff, recomputing y backwards is unstable: an implicit method (solver.method = "
                "Method::rodas4) reads y from the forward solve instead, and Grad::checkpointed never recomputes it";
            throw SolverError("odeint (adjoint, backward solve " + between(times[i], times[i - 1]) + ")", e.t(), e.h(),
                              (part.empty() ? e.reason()
                                            : "non-finite value in " + part +
                                                  (aug.is_state(e.component()) ? ": f is" : ": the VJP of f is") +
                                                  " non-finite there (DetectAnomalyGuard names the op)") +
                                  stiff_hint,
                              e.component());
        }
        add_into(total, seg.stats);
        if (seg.next_step > 0.0) opt.first_step = seg.next_step;
        a = aug.a(seg.ys[1]);
        a_theta = aug.a_theta(seg.ys[1]);
        if (i - 1 == 0 && want_t) {
            t_grad[0] = -dot(a, eval_plain(p.f, times[0], row(Y, 0, shape)));
            ++total.nfe;
        }
        a += row(G, i - 1, shape);  // the loss's own gradient at this output time
    }
    if (n == 1) a = row(G, 0, shape);
    return input_gradients(std::move(a), t_grad, want_t, a_theta);
}

template <class T>
OdeintSolution adjoint_forward(const Problem& p) {
    const Dynamics& f = p.f;
    auto fv = [&f](double t, const Tensor<T>& y) { return eval_plain(f, t, y); };
    Solution<Tensor<T>> sol = solve_compiled(fv, p.y0.value<T>(), p.times, p.options.solver);
    const bool any_grad = p.y0.requires_grad() || p.ts.requires_grad() || !p.params.empty();
    if (GradMode::enabled() && !any_grad) probe_unlisted_parameters(p);
    auto backward_stats = std::make_shared<SolveStats>();
    std::vector<Var> inputs{p.y0, p.ts};
    inputs.insert(inputs.end(), p.params.begin(), p.params.end());
    const Value Yv(stack_values(sol.ys));
    // The node keeps its own copy of the problem: f (and through it a module's shared_ptr)
    // lives as long as the graph can still run this backward.
    Var ys = record("odeint_adjoint", Yv, inputs,
                    [problem = p, Yv, backward_stats, ts_dtype = p.ts.dtype()](const Var& gy,
                                                                               const BackwardContext& ctx) -> Grads {
                        forbid_create_graph(problem);
                        check_versions(problem);
                        check_loss_gradient(gy.value(), problem.times, Grad::adjoint);
                        *backward_stats = {};
                        Grads g = adjoint_backward<T>(problem, Yv.as<T>(), gy.value().template as<T>(),
                                                      *backward_stats, ctx);
                        if (g[1].defined()) g[1] = to_dtype(g[1], ts_dtype);
                        return g;
                    });
    return OdeintSolution(ys, sol.stats, backward_stats);
}

}  // namespace

Options backward_options(const OdeintOptions& o, std::size_t state_size) {
    Options b = o.solver;
    b.step_callback = nullptr;
    if (o.adjoint.method) b.method = *o.adjoint.method;
    if (o.adjoint.rtol) b.rtol = *o.adjoint.rtol;
    if (o.adjoint.atol) b.atol = *o.adjoint.atol;
    if (o.adjoint.seminorm) b.norm = rms_seminorm(0, state_size);  // a_θ, after the state, left out
    return b;
}

OdeintSolution odeint_adjoint(const Problem& p) {
    return p.y0.dtype() == Dtype::float32 ? adjoint_forward<float>(p) : adjoint_forward<double>(p);
}

}  // namespace odenet::ode::detail
