#include "odenet/nn/irregular_times.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "odenet/autodiff/ops.hpp"
#include "odenet/core/error.hpp"
#include "odenet/core/shape.hpp"

namespace odenet::nn {

namespace {

constexpr const char* kWhere = "irregular_times";

std::string num(double x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", x);
    return buf;
}

std::string at(std::size_t b, std::size_t j) { return "times[" + std::to_string(b) + "][" + std::to_string(j) + "]"; }

// Every time finite, and start (if given) finite and no later than the smallest time.
void check_times(const std::vector<std::vector<double>>& times, std::optional<double> start) {
    if (times.empty()) throw ValueError(kWhere, "the batch is empty (no sequence)");
    if (start && !std::isfinite(*start)) throw ValueError(kWhere, "start is " + num(*start) + ", not finite");
    bool any = start.has_value();
    for (std::size_t b = 0; b < times.size(); ++b) {
        for (std::size_t j = 0; j < times[b].size(); ++j) {
            const double t = times[b][j];
            if (!std::isfinite(t)) throw ValueError(kWhere, at(b, j) + " is " + num(t) + ", not finite");
            if (start && t < *start) {
                throw ValueError(kWhere, "start = " + num(*start) + " is after " + at(b, j) + " = " + num(t) +
                                             "; start is the time of y0 and must come first");
            }
            any = true;
        }
    }
    if (!any) throw ValueError(kWhere, "every sequence is empty and no start is given: no time to solve at");
}

}  // namespace

IrregularTimes irregular_times(const std::vector<std::vector<double>>& times, std::optional<double> start) {
    check_times(times, start);
    std::vector<double> all;
    if (start) all.push_back(*start);
    for (const auto& seq : times) all.insert(all.end(), seq.begin(), seq.end());
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());

    IrregularTimes out;
    out.positions.resize(times.size());
    for (std::size_t b = 0; b < times.size(); ++b) {
        for (double t : times[b]) {
            const auto u = std::lower_bound(all.begin(), all.end(), t);  // exact: t is in `all`
            out.positions[b].push_back(static_cast<std::size_t>(u - all.begin()));
        }
        out.max_length = std::max(out.max_length, times[b].size());
    }
    Tensor<double> ts = Tensor<double>::from_shape({all.size()});
    std::copy(all.begin(), all.end(), ts.begin());
    out.times = Var(std::move(ts));
    return out;
}

Var IrregularTimes::mask(Dtype dtype) const {
    Tensor<double> m = Tensor<double>::from_shape({batch(), max_length});
    for (std::size_t b = 0; b < batch(); ++b)
        for (std::size_t j = 0; j < max_length; ++j) m(b, j) = j < positions[b].size() ? 1.0 : 0.0;
    return to_dtype(Var(std::move(m)), dtype);
}

// Flattening (U, B, ...) to (U·B, ...) puts ys[u, b] at row u·B + b. index_select picks the real
// entries' rows; index_add places them at row b·L + j of zeros (distinct rows, so nothing adds).
// Padding is never read from ys, so it is exactly 0 and its gradient reaches nothing, even a NaN.
Var IrregularTimes::gather(const Var& ys) const {
    const std::size_t n_times = times.defined() ? times.shape()[0] : 0, n_batch = batch();
    if (!ys.defined() || ys.dim() < 2 || ys.shape()[0] != n_times || ys.shape()[1] != n_batch) {
        throw ShapeError("IrregularTimes::gather",
                         "ys must be (U = " + std::to_string(n_times) + " union times, batch = " +
                             std::to_string(n_batch) + ", ...), odeint's output over times, got " +
                             (ys.defined() ? shape_str(ys.shape()) : std::string("an undefined Var")));
    }
    const Shape rest(ys.shape().begin() + 2, ys.shape().end());
    Shape flat{n_times * n_batch}, padded{n_batch * max_length};
    flat.insert(flat.end(), rest.begin(), rest.end());
    padded.insert(padded.end(), rest.begin(), rest.end());
    std::vector<std::size_t> from, to;
    for (std::size_t b = 0; b < n_batch; ++b) {
        for (std::size_t j = 0; j < positions[b].size(); ++j) {
            from.push_back(positions[b][j] * n_batch + b);
            to.push_back(b * max_length + j);
        }
    }
    const Var picked = index_select(reshape(ys, flat), 0, from);
    Shape out_shape{n_batch, max_length};
    out_shape.insert(out_shape.end(), rest.begin(), rest.end());
    return reshape(index_add(picked, 0, to, n_batch * max_length), out_shape);
}

}  // namespace odenet::nn
