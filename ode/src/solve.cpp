// The non-template parts of solve(): option and time checks, and the failure messages.
#include "odenet/ode/detail/integrator.hpp"
#include "odenet/ode/solve.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace odenet::ode {

namespace {
std::string shape_text(const std::vector<std::size_t>& shape) {
    std::string s = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + (shape.size() == 1 ? ",)" : ")");
}

}  // namespace

std::string shape_message(const std::vector<std::size_t>& got, const std::vector<std::size_t>& want) {
    return "shape " + shape_text(got) + " for a state of shape " + shape_text(want);
}

// Every bound is written so that NaN fails it. An infinite tolerance would accept any step:
// rtol = atol = inf returned y(5) = 0.91 for a solution of 0.0067.
void validate(const Options& o) {
    using detail::num;
    auto bad = [](const std::string& what) { throw ValueError("solve options", what); };
    auto finite_nonnegative = [&](const char* name, double v) {
        if (!(v >= 0.0) || !std::isfinite(v)) bad(std::string(name) + " must be finite and >= 0, got " + num(v));
    };
    finite_nonnegative("rtol", o.rtol);
    finite_nonnegative("atol", o.atol);
    if (o.rtol == 0.0 && o.atol == 0.0) bad("rtol and atol cannot both be 0");
    finite_nonnegative("first_step", o.first_step);
    finite_nonnegative("min_step", o.min_step);
    if (!(o.max_step > 0.0)) bad("max_step must be > 0 (inf for no limit), got " + num(o.max_step));
    if (o.min_step > o.max_step) bad("min_step " + num(o.min_step) + " > max_step " + num(o.max_step));
    finite_nonnegative("step_size", o.step_size);
    if (o.max_steps == 0) bad("max_steps must be > 0");
    for (std::size_t i = 0; i < o.jump_times.size(); ++i)
        if (!std::isfinite(o.jump_times[i]))
            bad("jump_times[" + std::to_string(i) + "] must be finite, got " + num(o.jump_times[i]));
    if (o.jacobian_blocks == 0) bad("jacobian_blocks must be >= 1 (1: one coupled system), got 0");
    if (o.stiff_switch) {
        if (!is_implicit(*o.stiff_switch))
            bad("stiff_switch must be an implicit method (rosenbrock23, rodas4, trbdf2), got " +
                std::string(method_name(*o.stiff_switch)));
        if (o.method != Method::dopri5 && o.method != Method::tsit5)
            bad("stiff_switch needs method dopri5 or tsit5 (their stiffness test), got " +
                std::string(method_name(o.method)));
        if (o.step_size > 0.0) bad("stiff_switch needs adaptive steps, got step_size " + num(o.step_size));
    }
    if (is_implicit(o.method) && o.step_size > 0.0)
        bad(std::string(method_name(o.method)) + " is adaptive only: step_size must be 0, got " + num(o.step_size));
    // The controller's factors feed std::clamp(factor, min_factor, max_factor), which needs
    // min_factor <= max_factor; a rejected step must shrink (min_factor < 1 <= max_factor).
    const PIController& c = o.controller;
    if (!(c.safety > 0.0) || !std::isfinite(c.safety)) bad("controller.safety must be finite and > 0, got " + num(c.safety));
    if (!(c.min_factor > 0.0 && c.min_factor < 1.0)) bad("controller.min_factor must be in (0, 1), got " + num(c.min_factor));
    if (!(c.max_factor >= 1.0) || !std::isfinite(c.max_factor)) {
        bad("controller.max_factor must be finite and >= 1, got " + num(c.max_factor));
    }
    if (!std::isfinite(c.beta1) || !std::isfinite(c.beta2)) {
        bad("controller.beta1 and beta2 must be finite, got " + num(c.beta1) + " and " + num(c.beta2));
    }
}

namespace detail {

std::string num(double x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", x);
    return buf;
}

double check_times(const std::vector<double>& ts) {
    if (ts.empty()) throw SolverError("solve", 0.0, 0.0, "no output times: ts is empty");
    for (std::size_t i = 0; i < ts.size(); ++i)
        if (!std::isfinite(ts[i]))
            throw SolverError("solve", ts[i], 0.0, "output time ts[" + std::to_string(i) + "] is not finite");
    if (ts.size() == 1) return 1.0;
    const double dir = ts[1] > ts[0] ? 1.0 : -1.0;
    for (std::size_t i = 1; i < ts.size(); ++i)
        if (!(dir * (ts[i] - ts[i - 1]) > 0.0))
            throw SolverError("solve", ts[i], 0.0,
                              "output times are not strictly " + std::string(dir > 0 ? "increasing" : "decreasing") +
                                  ": ts[" + std::to_string(i) + "] = " + num(ts[i]) + " after ts[" +
                                  std::to_string(i - 1) + "] = " + num(ts[i - 1]));
    return dir;
}

std::string describe_component(std::size_t flat, const std::vector<std::size_t>& shape) {
    std::string s = "flat index " + std::to_string(flat);
    if (shape.size() >= 2 && shape[0] > 0) {
        std::size_t per_sample = 1;
        for (std::size_t i = 1; i < shape.size(); ++i) per_sample *= shape[i];
        if (per_sample > 0)
            s += " (batch " + std::to_string(flat / per_sample) + ", component " + std::to_string(flat % per_sample) +
                 " of " + std::to_string(per_sample) + ")";
    }
    return s + " of a state of shape " + shape_text(shape);
}

void FailureLog::record(std::size_t flat) { ring_[count_++ % ring_.size()] = flat; }

std::string FailureLog::summary(const std::vector<std::size_t>& shape, std::size_t last_flat, double last_ratio) const {
    std::string s;
    if (last_flat != kNpos)
        s += "; the last attempt's error (ratio " + num(last_ratio) + ") was dominated by " +
             describe_component(last_flat, shape);
    const std::size_t n = std::min(count_, ring_.size());
    if (n > 0) {
        std::map<std::size_t, std::size_t> votes;
        for (std::size_t i = 0; i < n; ++i) ++votes[ring_[i]];
        const auto best = std::max_element(votes.begin(), votes.end(),
                                           [](const auto& a, const auto& b) { return a.second < b.second; });
        if (best->first != kNpos)
            s += "; over the last " + std::to_string(n) + " rejected attempts, " + describe_component(best->first, shape) +
                 " dominated " + std::to_string(best->second) + " times";
    }
    if (saw_nonfinite) s += "; rejected attempts produced NaN or Inf in the stages (f is non-finite near t)";
    return s;
}

}  // namespace detail

}  // namespace odenet::ode
