// Grad::adjoint and Grad::checkpointed with an implicit method or a stiff_switch (ode/implicit.hpp).
//
// Note [The adjoint through an implicit method]
// Chen et al.'s adjoint integrates y backwards together with a = dL/dy. On a stiff problem that
// cannot work: the fast modes that decayed forwards grow backwards at the same rate (about 1e4 for
// Robertson's kinetics), so the y recomputed backwards leaves the forward trajectory, and with it
// the Jacobians the adjoint reads. Here, as in CVODES (Hindmarsh et al. 2005, "SUNDIALS", ACM TOMS
// 31:363-396) and diffrax's interpolated adjoints, the forward keeps every accepted step (the
// state and the step's own interpolant, three vectors per step), and the backward integrates only
// [a, a_θ], reading y(t) from those interpolants:
//   da/dt = −(∂f/∂y)ᵀ a,   da_θ/dt = −(∂f/∂θ)ᵀ a,
// with the same implicit method. The Jacobian of that system is [[−Jᵀ, 0], [−(∂f/∂θ)ᵀ, 0]],
// J = ∂f/∂y at y(t) from the engine: so W = I − hγ J_aug is solved exactly by one LU of
// I + hγ Jᵀ (per block, transposed) and one VJP with respect to θ (AdjointAlgebra), never
// forming the parameter block. Both modes take this path (the checkpointed mode's re-solve of
// each step with recording would need backprop through LU solves, which odenet does not record);
// the memory is that of the trajectory, not of a tape. Grad::direct refuses implicit methods.
#include <algorithm>
#include <cmath>

#include "odenet/autodiff/engine.hpp"
#include "odenet/autodiff/jacobian.hpp"
#include "odenet/autodiff/record.hpp"
#include "odenet/ode/detail/block_lu.hpp"
#include "odenet/ode/detail/stiff.hpp"
#include "odenet/ode/solve.hpp"
#include "odeint_internal.hpp"

namespace odenet::ode::detail {

namespace {

template <class T>
Tensor<T> tensor_of(const double* p, const Shape& shape) {
    Tensor<T> out = Tensor<T>::from_shape(shape);
    for (std::size_t i = 0; i < out.size(); ++i) out.data()[i] = static_cast<T>(p[i]);
    return out;
}

template <class T>
std::vector<double> flat_of(const Tensor<T>& x) {
    return std::vector<double>(x.begin(), x.end());
}

// ∂f/∂y from the engine, as the solver's Jacobian callback.
template <class T>
JacobianFn engine_jacobian(const Dynamics& f, const Shape& shape, std::size_t blocks) {
    return [&f, shape, blocks](double t, std::span<const double> y, std::span<double> J) {
        const Var t_var = Var::scalar(t, dtype_of<T>());
        const Tensor<double> Jt =
            jacobian([&](const Var& x) { return f(t_var, x); }, Var(tensor_of<T>(y.data(), shape)), blocks);
        std::copy(Jt.begin(), Jt.end(), J.begin());
    };
}

// The forward solve's accepted steps and their interpolants: y(t) anywhere in the span.
struct Trajectory {
    std::vector<double> ts;  // t0, then every accepted step's end
    std::vector<std::vector<double>> ys, A, B;

    void at(double t, double* out) const {
        const bool up = ts.back() >= ts.front();
        // The step k with t in [ts[k], ts[k+1]] (in the direction of the solve).
        auto it = up ? std::upper_bound(ts.begin(), ts.end(), t)
                     : std::upper_bound(ts.begin(), ts.end(), t, [](double a, double b) { return a > b; });
        std::size_t k = it == ts.begin() ? 0 : static_cast<std::size_t>(it - ts.begin()) - 1;
        k = std::min(k, ts.size() - 2);
        const double h = ts[k + 1] - ts[k];
        const double theta = std::clamp((t - ts[k]) / h, 0.0, 1.0);
        dense_value(ys[k], ys[k + 1], A[k], B[k], theta, out);
    }
};

// The backward system over [a, a_θ] (Note [The adjoint through an implicit method]) and the
// linear algebra of its implicit steps.
template <class T>
class AdjointSystem final : public LinearAlgebra {
public:
    AdjointSystem(const Problem& p, const Trajectory& traj, const Shape& shape)
        : p_(p), traj_(traj), shape_(shape), m_(numel(shape)), blocks_(p.options.solver.jacobian_blocks),
          y_(m_) {
        size_ = m_;
        for (const Var& q : p_.params) size_ += q.numel();
    }
    std::size_t size() const { return size_; }

    void rhs(double t, const double* s, double* ds) {
        traj_.at(t, y_.data());
        EnableGradGuard recording;
        Var y(tensor_of<T>(y_.data(), shape_), true);
        Var out = p_.f(Var::scalar(t, dtype_of<T>()), y);
        if (!checked_) {  // Note [Parameters the dynamics reach], odeint_checks.cpp
            check_reached_leaves(graph_leaves({out}, p_.params), y, p_, "backward");
            checked_ = true;
        }
        Tensor<T> neg_a = tensor_of<T>(s, shape_);
        for (auto& v : neg_a) v = -v;
        std::vector<Var> inputs{y};
        inputs.insert(inputs.end(), p_.params.begin(), p_.params.end());
        double* q = ds;
        if (!out.requires_grad()) {
            std::fill(ds, ds + size_, 0.0);
            return;
        }
        for (const Var& g : grad({out}, inputs, {Var(std::move(neg_a))}, {.allow_unused = true})) {
            const Tensor<T>& gv = g.value().template as<T>();
            q = std::copy(gv.begin(), gv.end(), q);
        }
    }

    // ---- LinearAlgebra: W = I − hγ J_aug -------------------------------------------------
    std::size_t jacobian(double t, const double*, const double*) override {
        traj_.at(t, y_.data());
        const Var t_var = Var::scalar(t, dtype_of<T>());
        J_ = odenet::jacobian([&](const Var& x) { return p_.f(t_var, x); }, Var(tensor_of<T>(y_.data(), shape_)),
                              blocks_);
        // f at the same point, recorded, for the parameter block's VJPs in solve().
        EnableGradGuard recording;
        out_ = p_.f(t_var, Var(tensor_of<T>(y_.data(), shape_)));
        return 0;
    }

    bool factor(double hg) override {
        hg_ = hg;
        const std::size_t mb = m_ / blocks_;
        M_.resize(J_.size());
        for (std::size_t i = 0; i < M_.size(); ++i) {
            const std::size_t r = i / mb % mb, c = i % mb;
            M_[i] = (r == c ? 1.0 : 0.0) + hg * J_.data()[i];  // I + hγ J; solved transposed
        }
        return lu_.factor(M_.data(), blocks_, mb);
    }

    void solve(double* x) override {
        lu_.solve(x, /*transposed=*/true);  // x_a ← (I + hγ Jᵀ)⁻¹ x_a
        if (p_.params.empty() || !out_.requires_grad()) return;
        const std::vector<Var> g =
            grad({out_}, p_.params, {Var(tensor_of<T>(x, shape_))}, {.retain_graph = true, .allow_unused = true});
        double* q = x + m_;
        for (const Var& gi : g)
            for (T v : gi.value().template as<T>()) *q++ -= hg_ * static_cast<double>(v);  // x_θ ← b_θ − hγ (∂f/∂θ)ᵀ x_a
    }

    double spectral_bound() const override { return std::numeric_limits<double>::infinity(); }

    std::vector<Tensor<T>> a_theta(const std::vector<double>& s) const {
        std::vector<Tensor<T>> out;
        std::size_t offset = m_;
        for (const Var& q : p_.params) {
            out.push_back(tensor_of<T>(s.data() + offset, q.shape()));
            offset += q.numel();
        }
        return out;
    }

private:
    const Problem& p_;
    const Trajectory& traj_;
    Shape shape_;
    std::size_t m_, blocks_, size_ = 0;
    std::vector<double> y_;
    Tensor<double> J_;
    std::vector<double> M_;  // I + hγ J, handed to the LU
    Var out_;
    double hg_ = 0.0;
    BlockLU lu_;
    bool checked_ = false;
};

Options backward_options_implicit(const OdeintOptions& o, std::size_t state_size) {
    Options b = backward_options(o, state_size);
    b.jacobian = nullptr;  // the adjoint system's own (AdjointSystem)
    b.save_steps = false;
    b.autonomous = false;  // y(t) is read from the trajectory; jump_times stay (a′ jumps where f does)
    if (!o.adjoint.method && !is_implicit(b.method)) b.method = *b.stiff_switch;
    b.stiff_switch.reset();
    return b;
}


template <class T>
Grads implicit_backward(const Problem& p, const Trajectory& traj, const Tensor<T>& Y, const Tensor<T>& G,
                        SolveStats& total, const BackwardContext& ctx) {
    NoGradGuard no_grad;
    const Shape shape = p.y0.shape();
    const std::vector<double>& times = p.times;
    const std::size_t n = times.size(), m = numel(shape);
    AdjointSystem<T> system(p, traj, shape);
    Options opt = backward_options_implicit(p.options, m);
    FlatRhs rhs = [&system](double t, const double* s, double* ds) { system.rhs(t, s, ds); };
    std::vector<double> s(system.size(), 0.0);
    const Tensor<T> G_last = row(G, n - 1, shape);
    std::copy(G_last.begin(), G_last.end(), s.begin());
    std::vector<double> t_grad(n, 0.0);
    const bool want_t = ctx.needs(1);
    for (std::size_t i = n - 1; i >= 1; --i) {
        if (want_t) {
            t_grad[i] = dot(row(G, i, shape), eval_plain(p.f, times[i], row(Y, i, shape)));
            ++total.nfe;
        }
        FlatSolution seg;
        try {
            if (is_implicit(opt.method)) {
                seg = solve_stiff(rhs, s, {system.size()}, {times[i], times[i - 1]}, opt, &system,
                                  std::numeric_limits<T>::epsilon());
            } else {
                auto vec_rhs = [&rhs](double t, const std::vector<double>& x, std::vector<double>& dx) {
                    rhs(t, x.data(), dx.data());
                };
                Solution<std::vector<double>> sol = solve(vec_rhs, s, {times[i], times[i - 1]}, opt);
                seg.ys = std::move(sol.ys);
                seg.stats = sol.stats;
                seg.next_step = sol.next_step;
            }
        } catch (const SolverError& e) {
            throw SolverError("odeint (" + std::string(grad_name(p.options.grad)) + " through " +
                                  std::string(method_name(opt.method)) + ", backward solve " +
                                  between(times[i], times[i - 1]) + ")",
                              e.t(), e.h(), e.reason(), e.component());
        }
        add_into(total, seg.stats);
        if (seg.next_step > 0.0) opt.first_step = seg.next_step;
        s = seg.ys.back();
        if (i - 1 == 0 && want_t) {
            t_grad[0] = -dot(tensor_of<T>(s.data(), shape), eval_plain(p.f, times[0], row(Y, 0, shape)));
            ++total.nfe;
        }
        const Tensor<T> Gi = row(G, i - 1, shape);
        for (std::size_t q = 0; q < m; ++q) s[q] += static_cast<double>(Gi.data()[q]);
    }
    if (n == 1) {
        const Tensor<T> G0 = row(G, 0, shape);
        std::copy(G0.begin(), G0.end(), s.begin());
    }
    std::vector<Tensor<T>> a_theta = system.a_theta(s);
    return input_gradients(tensor_of<T>(s.data(), shape), t_grad, want_t, a_theta);
}

template <class T>
OdeintSolution implicit_forward(const Problem& p) {
    const Dynamics& f = p.f;
    const Shape shape = p.y0.shape();
    Options opt = p.options.solver;
    if (!opt.jacobian) opt.jacobian = engine_jacobian<T>(f, shape, opt.jacobian_blocks);
    opt.save_steps = true;
    FlatRhs flat = [&f, &shape](double t, const double* y, double* dy) {
        const Tensor<T> d = eval_plain(f, t, tensor_of<T>(y, shape));
        if (d.size() != numel(shape))
            throw ShapeError("odeint", "f(t, y) returned shape " + shape_str(d.shape()) + " for y of shape " +
                                           shape_str(shape));
        std::copy(d.begin(), d.end(), dy);
    };
    FlatSolution sol = solve_stiff(flat, flat_of(p.y0.value<T>()), std::vector<std::size_t>(shape.begin(), shape.end()),
                                   p.times, opt, nullptr, std::numeric_limits<T>::epsilon());
    auto traj = std::make_shared<Trajectory>();
    traj->ts.push_back(p.times.front());
    traj->ts.insert(traj->ts.end(), sol.step_ts.begin(), sol.step_ts.end());
    traj->ys.push_back(sol.ys.front());
    for (auto& y : sol.step_ys) traj->ys.push_back(std::move(y));
    traj->A = std::move(sol.step_a);
    traj->B = std::move(sol.step_b);
    std::vector<Tensor<T>> ys;
    for (const auto& y : sol.ys) ys.push_back(tensor_of<T>(y.data(), shape));
    const bool any_grad = p.y0.requires_grad() || p.ts.requires_grad() || !p.params.empty();
    if (GradMode::enabled() && !any_grad) probe_unlisted_parameters(p);
    auto backward_stats = std::make_shared<SolveStats>();
    std::vector<Var> inputs{p.y0, p.ts};
    inputs.insert(inputs.end(), p.params.begin(), p.params.end());
    const Value Yv(stack_values(ys));
    Var out = record("odeint_implicit_adjoint", Yv, inputs,
                     [problem = p, traj, Yv, backward_stats, ts_dtype = p.ts.dtype()](
                         const Var& gy, const BackwardContext& ctx) -> Grads {
                         forbid_create_graph(problem);
                         check_versions(problem);
                         check_loss_gradient(gy.value(), problem.times, problem.options.grad);
                         *backward_stats = {};
                         Grads g = implicit_backward<T>(problem, *traj, Yv.as<T>(), gy.value().template as<T>(),
                                                        *backward_stats, ctx);
                         if (g[1].defined()) g[1] = to_dtype(g[1], ts_dtype);
                         return g;
                     });
    return OdeintSolution(out, sol.stats, backward_stats);
}

}  // namespace

OdeintSolution odeint_implicit(const Problem& p) {
    return p.y0.dtype() == Dtype::float32 ? implicit_forward<float>(p) : implicit_forward<double>(p);
}

}  // namespace odenet::ode::detail
