// odeint: the three gradient modes (see odeint.hpp). The plain solver does the integration in
// every mode; this file only decides what is recorded and what the backward pass solves.
#include "odenet/ode/odeint.hpp"

#include <cmath>

#include "odenet/autodiff/engine.hpp"
#include "odenet/autodiff/grad_mode.hpp"
#include "odenet/autodiff/ops.hpp"
#include "odenet/autodiff/record.hpp"
#include "odenet/ode/solve.hpp"
#include "odenet/ode/var_state.hpp"

namespace odenet::ode {

const char* grad_name(Grad grad) {
    switch (grad) {
        case Grad::direct: return "direct";
        case Grad::adjoint: return "adjoint";
        case Grad::checkpointed: return "checkpointed";
    }
    return "?";
}

Grad grad_from_name(const std::string& name) {
    for (Grad g : {Grad::direct, Grad::adjoint, Grad::checkpointed})
        if (name == grad_name(g)) return g;
    throw ValueError("grad_from_name", "unknown gradient mode '" + name + "'; valid: direct, adjoint, checkpointed");
}

namespace {

std::vector<double> times_of(const Var& ts) {
    if (ts.dim() != 1 || ts.numel() == 0) {
        throw ShapeError("odeint", "ts must be a non-empty 1-d Var of times, got shape " + shape_str(ts.shape()));
    }
    return ts.value().visit([](const auto& t) { return std::vector<double>(t.begin(), t.end()); });
}

// f with the time as a double, for the solver.
auto timed(const Dynamics& f, Dtype dtype) {
    return [&f, dtype](double t, const Var& y) { return f(Var::scalar(t, dtype), y); };
}

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

std::vector<Var> differentiable(const std::vector<Var>& params) {
    std::vector<Var> out;
    for (const Var& p : params)
        if (p.requires_grad()) out.push_back(p);
    return out;
}

// ---- direct --------------------------------------------------------------------------------

// Identity on y whose backward also sends sign·Σ(g·F) to ts: the derivative of a solution with
// respect to its time. For the start (sign −1, row 0) this is dL/dt0 = −⟨dL/dy0, f(t0, y0)⟩; for
// the stacked outputs (sign +1) F holds f(tᵢ, yᵢ) per row, zero in row 0.
Var time_hook(const Var& y, const Var& ts, Var f_values, double sign, bool per_row) {
    if (!ts.requires_grad()) return y;
    const std::size_t n = ts.numel();
    return record("odeint_time", y.value(), {&y, &ts},
                  [f_values, sign, per_row, n, ts_dtype = ts.dtype()](const Var& gy, const BackwardContext& ctx) -> Grads {
                      Var gt;
                      if (ctx.needs(1)) {
                          Var prod = gy * f_values;
                          if (per_row) {
                              std::vector<int> axes;
                              for (std::size_t a = 1; a < prod.dim(); ++a) axes.push_back(int(a));
                              gt = to_dtype(sum(prod, axes) * sign, ts_dtype);
                          } else {
                              Tensor<double> onehot = xt::zeros<double>({n});
                              onehot(0) = sign;
                              gt = to_dtype(sum(prod), ts_dtype) * Var(std::move(onehot));
                          }
                      }
                      return {gy, gt};
                  });
}

Var odeint_direct(const Dynamics& f, const Var& y0, const Var& ts, const std::vector<double>& times,
                  const OdeintOptions& options, OdeintStats* stats) {
    const Dtype dtype = y0.dtype();
    Var start = y0;
    if (ts.requires_grad()) {
        Var f0;
        {
            NoGradGuard no_grad;
            f0 = f(Var::scalar(times[0], dtype), y0.detach());
        }
        start = time_hook(y0, ts, f0, -1.0, false);
    }
    Solution<Var> sol = solve(timed(f, dtype), start, times, options.solver);
    if (stats) stats->forward = sol.stats;
    sol.ys[0] = y0;  // the output at t0 is y0 itself: it does not move with t0
    Var ys = stack(sol.ys, 0);
    if (!ts.requires_grad()) return ys;
    Var f_values;
    {
        NoGradGuard no_grad;
        std::vector<Var> fs{zeros_like(y0)};
        for (std::size_t i = 1; i < times.size(); ++i) fs.push_back(f(Var::scalar(times[i], dtype), sol.ys[i].detach()));
        f_values = stack(fs, 0);
    }
    return time_hook(ys, ts, f_values, 1.0, true);
}

// ---- adjoint -------------------------------------------------------------------------------

// The node's gradients in input order [y0, ts, params...].
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

// The augmented system [y, a, a_θ] of Chen et al. (2018), Algorithm 1, as one flat vector:
// dy/dt = f, da/dt = −aᵀ ∂f/∂y, da_θ/dt = −aᵀ ∂f/∂θ; the two VJPs are one grad() call.
template <class T>
class AugmentedDynamics {
public:
    AugmentedDynamics(const Dynamics& f, const Shape& shape, const std::vector<Var>& params)
        : f_(f), shape_(shape), m_(numel(shape)), params_(params) {
        size_ = 2 * m_;
        for (const Var& p : params_) size_ += p.numel();
    }
    std::size_t size() const { return size_; }
    std::size_t state_size() const { return 2 * m_; }

    Tensor<T> pack(const Tensor<T>& y, const Tensor<T>& a, const std::vector<Tensor<T>>& a_theta) const {
        Tensor<T> s = Tensor<T>::from_shape({size_});
        T* p = std::copy(y.begin(), y.end(), s.data());
        p = std::copy(a.begin(), a.end(), p);
        for (const auto& g : a_theta) p = std::copy(g.begin(), g.end(), p);
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
        for (const Var& p : params_) {
            out.push_back(part(s, offset, p.shape()));
            offset += p.numel();
        }
        return out;
    }

    Tensor<T> operator()(double t, const Tensor<T>& s) const {
        EnableGradGuard recording;  // a nested recording scope inside the engine's backward
        Var y(this->y(s), true);
        Var neg_a(Tensor<T>(-this->a(s)));
        Var out = f_(Var::scalar(t, dtype_of<T>()), y);
        std::vector<Var> inputs{y};
        inputs.insert(inputs.end(), params_.begin(), params_.end());
        std::vector<Var> vjps;
        if (out.requires_grad()) {
            vjps = grad({out}, inputs, {neg_a}, {.allow_unused = true});
        } else {
            for (const Var& x : inputs) vjps.push_back(zeros_like(x));
        }
        Tensor<T> ds = Tensor<T>::from_shape({size_});
        const Tensor<T>& dy = out.value().template as<T>();
        T* p = std::copy(dy.begin(), dy.end(), ds.data());
        for (const Var& g : vjps) {
            const Tensor<T>& gv = g.value().template as<T>();
            p = std::copy(gv.begin(), gv.end(), p);
        }
        return ds;
    }

private:
    const Dynamics& f_;
    Shape shape_;
    std::size_t m_;
    std::vector<Var> params_;
    std::size_t size_;
};

Options backward_options(const OdeintOptions& o, std::size_t state_size) {
    Options b = o.solver;
    b.step_callback = nullptr;
    if (o.adjoint.method) b.method = *o.adjoint.method;
    if (o.adjoint.rtol) b.rtol = *o.adjoint.rtol;
    if (o.adjoint.atol) b.atol = *o.adjoint.atol;
    if (o.adjoint.seminorm) {
        // RMS over [y, a] only (the first state_size entries); a_θ is left out.
        b.norm = [state_size](std::span<const double> e) {
            double s = 0;
            for (std::size_t i = 0; i < state_size; ++i) s += e[i] * e[i];
            return std::sqrt(s / double(std::max<std::size_t>(state_size, 1)));
        };
    }
    return b;
}

void add_into(SolveStats& total, const SolveStats& s) {
    total.nfe += s.nfe;
    total.accepted += s.accepted;
    total.rejected += s.rejected;
}

template <class T>
Grads adjoint_backward(const Dynamics& f, const std::vector<Var>& params, const std::vector<double>& times,
                       const Tensor<T>& Y, const Tensor<T>& G, const Shape& shape, const OdeintOptions& options,
                       OdeintStats* stats, const BackwardContext& ctx) {
    NoGradGuard no_grad;  // only the augmented dynamics record, in their own scope
    AugmentedDynamics<T> aug(f, shape, params);
    const Options opt = backward_options(options, aug.state_size());
    const std::size_t n = times.size();
    SolveStats total;
    Tensor<T> a = row(G, n - 1, shape);
    std::vector<Tensor<T>> a_theta;
    for (const Var& p : params) a_theta.push_back(xt::zeros<T>(p.shape()));
    std::vector<double> t_grad(n, 0.0);
    const bool want_t = ctx.needs(1);
    for (std::size_t i = n - 1; i >= 1; --i) {
        const Tensor<T> yi = row(Y, i, shape);
        if (want_t) {
            t_grad[i] = dot(row(G, i, shape), eval_plain(f, times[i], yi));
            ++total.nfe;
        }
        Solution<Tensor<T>> seg = solve(aug, aug.pack(yi, a, a_theta), {times[i], times[i - 1]}, opt);
        add_into(total, seg.stats);
        a = aug.a(seg.ys[1]);
        a_theta = aug.a_theta(seg.ys[1]);
        if (i - 1 == 0 && want_t) {
            t_grad[0] = -dot(a, eval_plain(f, times[0], row(Y, 0, shape)));
            ++total.nfe;
        }
        a += row(G, i - 1, shape);  // the loss's own gradient at this output time
    }
    if (n == 1) a = row(G, 0, shape);
    if (stats) stats->backward = total;
    return input_gradients(std::move(a), t_grad, want_t, a_theta);
}

// ---- checkpointed --------------------------------------------------------------------------

struct Checkpoints {
    std::vector<double> times;          // every accepted step boundary and every output time
    std::vector<std::size_t> output_at;  // index in `times` of each output time
};

template <class T>
Checkpoints checkpoint_times(const Dynamics& f, const Tensor<T>& y0, const std::vector<double>& ts, const Options& o,
                             SolveStats& stats) {
    std::vector<double> boundaries;
    Options probe = o;
    probe.step_callback = [&](const StepInfo& s) {
        if (s.accepted) boundaries.push_back(s.t + s.h);
        if (o.step_callback) o.step_callback(s);
    };
    auto fv = [&f](double t, const Tensor<T>& y) { return eval_plain(f, t, y); };
    add_into(stats, solve(fv, y0, ts, probe).stats);
    Checkpoints c;
    const double dir = ts.size() > 1 && ts.back() < ts.front() ? -1.0 : 1.0;
    std::size_t b = 0;
    for (std::size_t i = 0; i < ts.size(); ++i) {
        for (; b < boundaries.size() && dir * (boundaries[b] - ts[i]) < 0; ++b)
            if (c.times.empty() || dir * (boundaries[b] - c.times.back()) > 0) c.times.push_back(boundaries[b]);
        c.output_at.push_back(c.times.size());
        c.times.push_back(ts[i]);
    }
    return c;
}

template <class T>
Grads checkpointed_backward(const Dynamics& f, const std::vector<Var>& params, const std::vector<double>& ts,
                            const Checkpoints& cp, const std::vector<Tensor<T>>& states, const Tensor<T>& G,
                            const Shape& shape, const OdeintOptions& options, OdeintStats* stats,
                            const BackwardContext& ctx) {
    const std::size_t n = ts.size();
    SolveStats total;
    std::vector<Tensor<T>> a_theta;
    for (const Var& p : params) a_theta.push_back(xt::zeros<T>(p.shape()));
    std::vector<double> t_grad(n, 0.0);
    const bool want_t = ctx.needs(1);
    std::size_t out = n - 1;
    Tensor<T> a = row(G, out, shape);
    Options opt = options.solver;
    opt.step_callback = nullptr;
    for (std::size_t j = cp.times.size() - 1; j >= 1; --j) {
        if (want_t && out < n && cp.output_at[out] == j && out > 0) {
            t_grad[out] = dot(row(G, out, shape), eval_plain(f, ts[out], states[j]));
            ++total.nfe;
        }
        {
            // Re-solve the step from its checkpoint with recording, and backprop a through it.
            EnableGradGuard recording;
            Var yj(states[j - 1], true);
            Solution<Var> seg = solve(timed(f, dtype_of<T>()), yj, {cp.times[j - 1], cp.times[j]}, opt);
            add_into(total, seg.stats);
            std::vector<Var> inputs{yj};
            inputs.insert(inputs.end(), params.begin(), params.end());
            std::vector<Var> g = seg.ys[1].requires_grad()
                                     ? grad({seg.ys[1]}, inputs, {Var(a)}, {.allow_unused = true})
                                     : std::vector<Var>{};
            if (g.empty()) {
                for (const Var& x : inputs) g.push_back(zeros_like(x));
            }
            a = g[0].value().template as<T>();
            for (std::size_t p = 0; p < params.size(); ++p) a_theta[p] += g[p + 1].value().template as<T>();
        }
        if (out > 0 && cp.output_at[out - 1] == j - 1) {
            --out;
            if (out == 0 && want_t) {
                t_grad[0] = -dot(a, eval_plain(f, ts[0], states[0]));
                ++total.nfe;
            }
            a += row(G, out, shape);
        }
    }
    if (stats) stats->backward = total;
    return input_gradients(std::move(a), t_grad, want_t, a_theta);
}

// Forward of the adjoint and checkpointed modes: a plain solve, recorded as one node whose
// inputs are [y0, ts, params...].
template <class T>
Var odeint_recorded_once(const Dynamics& f, const Var& y0, const Var& ts, const std::vector<double>& times,
                         const std::vector<Var>& params, const OdeintOptions& options,
                         std::shared_ptr<OdeintStats> stats) {
    const Shape shape = y0.shape();
    auto fv = [&f](double t, const Tensor<T>& y) { return eval_plain(f, t, y); };
    SolveStats forward;
    Tensor<T> Y;
    std::vector<Tensor<T>> states;
    Checkpoints cp;
    if (options.grad == Grad::adjoint) {
        Solution<Tensor<T>> sol = solve(fv, y0.value<T>(), times, options.solver);
        forward = sol.stats;
        Y = stack_values(sol.ys);
    } else {
        cp = checkpoint_times(f, y0.value<T>(), times, options.solver, forward);
        Options quiet = options.solver;
        quiet.step_callback = nullptr;
        Solution<Tensor<T>> sol = solve(fv, y0.value<T>(), cp.times, quiet);
        add_into(forward, sol.stats);
        states = std::move(sol.ys);
        std::vector<Tensor<T>> outs;
        for (std::size_t idx : cp.output_at) outs.push_back(states[idx]);
        Y = stack_values(outs);
    }
    if (stats) stats->forward = forward;
    std::vector<Var> inputs{y0, ts};
    inputs.insert(inputs.end(), params.begin(), params.end());
    const Value Yv(Y);
    return record(
        options.grad == Grad::adjoint ? "odeint_adjoint" : "odeint_checkpointed", Yv, inputs,
        [f, params, times, Yv, shape, options, stats, cp, states, ts_dtype = ts.dtype()](
            const Var& gy, const BackwardContext& ctx) -> Grads {
            const Tensor<T>& G = gy.value().template as<T>();
            Grads g = options.grad == Grad::adjoint
                          ? adjoint_backward<T>(f, params, times, Yv.as<T>(), G, shape, options, stats.get(), ctx)
                          : checkpointed_backward<T>(f, params, times, cp, states, G, shape, options, stats.get(), ctx);
            if (g[1].defined()) g[1] = to_dtype(g[1], ts_dtype);
            return g;
        });
}

}  // namespace

Var odeint(const Dynamics& f, const Var& y0, const Var& ts, const std::vector<Var>& params, const OdeintOptions& options,
           std::shared_ptr<OdeintStats> stats) {
    const std::vector<double> times = times_of(ts);
    for (const Var& p : params) {
        if (p.dtype() != y0.dtype()) {
            throw DtypeError("odeint", std::string("a parameter is ") + dtype_name(p.dtype()) + " but y0 is " +
                                           dtype_name(y0.dtype()) + "; convert the module with to()");
        }
    }
    if (options.grad == Grad::direct) return odeint_direct(f, y0, ts, times, options, stats.get());
    const std::vector<Var> trainable = differentiable(params);
    if (y0.dtype() == Dtype::float32) return odeint_recorded_once<float>(f, y0, ts, times, trainable, options, stats);
    return odeint_recorded_once<double>(f, y0, ts, times, trainable, options, stats);
}

}  // namespace odenet::ode
