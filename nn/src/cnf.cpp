// CNF: the solves of a continuous normalizing flow over odeint. See cnf.hpp.
#include "odenet/nn/cnf.hpp"

#include <cmath>

#include "odenet/autodiff/grad_mode.hpp"
#include "odenet/autodiff/ops.hpp"
#include "odenet/core/enum_names.hpp"
#include "odenet/core/error.hpp"
#include "odenet/nn/odeint.hpp"

namespace odenet::nn {

namespace {
constexpr EnumNames kTraceNames{std::array{std::pair{Trace::exact, "exact"}, std::pair{Trace::hutchinson, "hutchinson"}}};
constexpr EnumNames kNoiseNames{std::array{std::pair{Noise::rademacher, "rademacher"}, std::pair{Noise::gaussian, "gaussian"}}};
}  // namespace

const char* trace_name(Trace trace) { return kTraceNames.name(trace); }
Trace trace_from_name(const std::string& name) { return kTraceNames.parse(name, "trace_from_name", "trace estimator"); }
const char* noise_name(Noise noise) { return kNoiseNames.name(noise); }
Noise noise_from_name(const std::string& name) { return kNoiseNames.parse(name, "noise_from_name", "noise"); }

CNF::CNF(std::shared_ptr<TimeLayer> dynamics, std::size_t dim, CNFOptions opts)
    : options(std::move(opts)), dynamics_(std::move(dynamics)), dim_(dim) {
    if (!dynamics_) throw ValueError("CNF", "the dynamics module is null");
    if (dim_ == 0) throw ValueError("CNF", "dim must be > 0");
    if (!(options.end_time > 0) || !std::isfinite(options.end_time))
        throw ValueError("CNF", "end_time must be finite and > 0, got " + std::to_string(options.end_time));
    if (options.probes < 1) throw ValueError("CNF", "probes must be >= 1, got " + std::to_string(options.probes));
    for (auto [name, w] : {std::pair{"kinetic_weight", options.kinetic_weight}, {"jacobian_weight", options.jacobian_weight}})
        if (!(w >= 0) || !std::isfinite(w))
            throw ValueError("CNF", std::string(name) + " must be finite and >= 0, got " + std::to_string(w));
    register_module("dynamics", dynamics_);
    sqrt_end_time = Var::scalar(std::sqrt(options.end_time));
    if (options.learn_end_time) {
        register_parameter("sqrt_end_time", sqrt_end_time);
    } else {
        register_buffer("sqrt_end_time", sqrt_end_time);
    }
}

Var CNF::end_time() const { return square(to_dtype(sqrt_end_time, Dtype::float64)); }

void CNF::check_points(const char* where, const Var& x) const {
    if (!x.defined() || x.dim() != 2 || x.shape()[1] != dim_) {
        throw ShapeError(where, "expects points (N, " + std::to_string(dim_) + "), got " +
                                    (x.defined() ? shape_str(x.shape()) : std::string("undefined")));
    }
    if (x.shape()[0] == 0) throw ValueError(where, "got an empty batch (0 points)");
}

namespace {

// [a, b] as a 1-d float64 Var, differentiable in whichever of a, b requires grad.
Var two_times(const Var& a, const Var& b) { return concat({reshape(a, {1}), reshape(b, {1})}, 0); }

// Note [Hutchinson noise per solve]
// The probes are drawn once, before the solve, and held fixed for all of it (forward and the
// adjoint's backward alike): FFJORD's odefunc.before_odeint(). Drawn anew at every evaluation,
// the dynamics would be a different function at every stage, the error estimate noise, and the
// step size would collapse.
std::vector<Var> draw_noise(const CNFOptions& o, Trace trace, const Shape& shape, Dtype dtype) {
    std::vector<Var> noise;
    if (trace != Trace::hutchinson) return noise;
    for (int k = 0; k < o.probes; ++k) {
        if (o.noise == Noise::gaussian) {
            noise.push_back(randn(shape, dtype));
        } else {
            noise.push_back(dtype == Dtype::float32 ? Var(rademacher<float>(shape)) : Var(rademacher<double>(shape)));
        }
    }
    return noise;
}

Var column(const Var& y, std::size_t j) { return reshape(slice(y, 1, j, j + 1), {y.shape()[0]}); }

// The augmented dynamics of one solve. They hold the module by shared_ptr: the adjoint's graph
// node keeps a copy, and with it the module.
ode::Dynamics augmented(std::shared_ptr<TimeLayer> f, std::size_t d, Trace trace, std::vector<Var> noise, bool kinetic,
                        bool jacobian) {
    return [f = std::move(f), d, trace, noise = std::move(noise), kinetic, jacobian](const Var& t, const Var& s) {
        return cnf_augmented_dynamics(*f, t, s, d, trace, noise, kinetic, jacobian);
    };
}

}  // namespace

Var CNF::solve(const ode::Dynamics& rhs, const Var& y0, const Var& ts) {
    // The dynamics' parameters are the only ones f uses; sqrt_end_time reaches the solve through ts.
    const ParameterList params = parameter_list(*dynamics_);
    ode::OdeintSolution sol = ode::detail::odeint_named(rhs, y0, ts, params.vars, params.names, options.odeint);
    Var ys = std::move(sol.ys);
    last_ = std::move(sol);  // statistics only (see ODEBlock::trajectory)
    return ys;
}

FlowResult CNF::transform(const Var& x, std::optional<Trace> trace_override) {
    check_points("CNF::transform", x);
    FlowResult r;
    const std::size_t n = x.shape()[0], d = dim_;
    const bool kinetic = options.kinetic_weight > 0, jacobian = options.jacobian_weight > 0;
    const std::size_t width = d + 1 + std::size_t(kinetic) + std::size_t(jacobian);
    const Var y0 = concat({x, zeros({n, width - d}, x.dtype())}, 1);
    const Trace trace = trace_override.value_or(options.trace);
    const Var ys = solve(augmented(dynamics_, d, trace, draw_noise(options, trace, x.shape(), x.dtype()), kinetic, jacobian),
                         y0, two_times(Var::scalar(0.0), end_time()));
    const Var y1 = reshape(slice(ys, 0, 1, 2), {n, width});
    r.z = slice(y1, 1, 0, d);
    r.delta_logp = column(y1, d);
    std::size_t next = d + 1;
    if (kinetic) r.kinetic = column(y1, next++);
    if (jacobian) r.jacobian = column(y1, next++);
    return r;
}

LogProb CNF::log_prob_and_regularization(const Var& x, std::optional<Trace> trace) {
    FlowResult r = transform(x, trace);
    Var reg = Var::scalar(0.0, x.dtype());
    if (r.kinetic.defined()) reg = reg + mean(r.kinetic) * options.kinetic_weight;
    if (r.jacobian.defined()) reg = reg + mean(r.jacobian) * options.jacobian_weight;
    // FFJORD eq. 4: log p(x) = log N(z(T)) − Δ(T)
    return {gaussian_log_density(r.z) - r.delta_logp, reg};
}

Var CNF::log_prob(const Var& x, std::optional<Trace> trace) { return log_prob_and_regularization(x, trace).log_prob; }

FlowResult CNF::inverse(const Var& z, std::optional<Trace> trace_override) {
    check_points("CNF::inverse", z);
    const std::size_t n = z.shape()[0], d = dim_;
    const Var y0 = concat({z, zeros({n, 1}, z.dtype())}, 1);
    const Trace trace = trace_override.value_or(options.trace);
    const Var ys = solve(augmented(dynamics_, d, trace, draw_noise(options, trace, z.shape(), z.dtype()), false, false),
                         y0, two_times(end_time(), Var::scalar(0.0)));
    const Var y0_end = reshape(slice(ys, 0, 1, 2), {n, d + 1});
    FlowResult r;
    r.z = slice(y0_end, 1, 0, d);
    r.delta_logp = column(y0_end, d);
    return r;
}

Var CNF::trajectory(const Var& z, std::size_t steps) {
    check_points("CNF::trajectory", z);
    if (steps < 2) throw ValueError("CNF::trajectory", "needs steps >= 2, got " + std::to_string(steps));
    const double T = end_time().item();
    Tensor<double> times = Tensor<double>::from_shape({steps});
    for (std::size_t i = 0; i < steps; ++i) times(i) = T * (1.0 - double(i) / double(steps - 1));
    times(steps - 1) = 0.0;
    std::shared_ptr<TimeLayer> f = dynamics_;
    return solve([f](const Var& t, const Var& y) { return f->forward(t, y); }, z, Var(std::move(times)));
}

Var CNF::sample(std::size_t n, Generator& gen) {
    if (n == 0) throw ValueError("CNF::sample", "n must be > 0");
    const std::vector<Var> params = dynamics_->parameters();
    const Dtype dtype = params.empty() ? Dtype::float64 : params[0].dtype();
    const Var z = dtype == Dtype::float32 ? Var(randn<float>({n, dim_}, gen)) : Var(randn<double>({n, dim_}, gen));
    const Var ys = trajectory(z, 2);
    return reshape(slice(ys, 0, 1, 2), {n, dim_});
}

}  // namespace odenet::nn
