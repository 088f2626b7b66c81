// The non-template parts of solve(): option and time checks, and the failure messages.
#include "odenet/ode/integrator.hpp"
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

void validate(const Options& o) {
    using detail::num;
    auto bad = [](const std::string& what) { throw ValueError("solve options", what); };
    if (!(o.rtol >= 0.0) || !(o.atol >= 0.0)) bad("rtol and atol must be >= 0, got rtol = " + num(o.rtol) + ", atol = " + num(o.atol));
    if (o.rtol == 0.0 && o.atol == 0.0) bad("rtol and atol cannot both be 0");
    if (!(o.first_step >= 0.0)) bad("first_step must be >= 0, got " + num(o.first_step));
    if (!(o.min_step >= 0.0)) bad("min_step must be >= 0, got " + num(o.min_step));
    if (!(o.max_step > 0.0)) bad("max_step must be > 0, got " + num(o.max_step));
    if (o.min_step > o.max_step) bad("min_step " + num(o.min_step) + " > max_step " + num(o.max_step));
    if (!(o.step_size >= 0.0) || !std::isfinite(o.step_size)) bad("step_size must be finite and >= 0, got " + num(o.step_size));
    if (o.max_steps == 0) bad("max_steps must be > 0");
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
