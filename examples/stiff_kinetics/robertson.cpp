#include "odenet/stiff_kinetics/robertson.hpp"

#include <cmath>
#include <span>
#include <string>

#include "odenet/autodiff/ops.hpp"
#include "odenet/core/error.hpp"
#include "odenet/core/random.hpp"
#include "odenet/ode/solve.hpp"

namespace odenet::stiff_kinetics {

namespace {

// The stoichiometry matrix: column j is what reaction j does to (y1, y2, y3).
constexpr double kStoichiometry[9] = {-1, 0, 1,   //
                                      1, -1, -1,  //
                                      0, 1, 0};

Var stoichiometry(Dtype dtype) {
    Tensor<double> s = Tensor<double>::from_shape({3, 3});
    std::copy(std::begin(kStoichiometry), std::end(kStoichiometry), s.begin());
    return to_dtype(Var(s), dtype);
}

}  // namespace

Var field(const Var& log_k, const Var& y) {
    if (y.shape() != Shape{3} || log_k.shape() != Shape{3})
        throw ShapeError("stiff_kinetics", "the field takes y (3,) and log k (3,), got " + shape_str(y.shape()) + " and " +
                                               shape_str(log_k.shape()));
    const Var y1 = slice(y, 0, 0, 1), y2 = slice(y, 0, 1, 2), y3 = slice(y, 0, 2, 3);
    const Var monomials = concat({y1, y2 * y2, y2 * y3}, 0);  // (3,)
    const Var rates = exp(log_k) * monomials;
    return reshape(matmul(stoichiometry(y.dtype()), reshape(rates, {3, 1})), {3});
}

std::array<double, 3> field(const Rates& k, const std::array<double, 3>& y) {
    const double r1 = k[0] * y[0], r2 = k[1] * y[1] * y[1], r3 = k[2] * y[1] * y[2];
    return {-r1 + r3, r1 - r2 - r3, r2};
}

std::array<double, 9> jacobian(const Rates& k, const std::array<double, 3>& y) {
    return {-k[0], k[2] * y[2], k[2] * y[1],                                //
            k[0], -2 * k[1] * y[1] - k[2] * y[2], -k[2] * y[1],             //
            0, 2 * k[1] * y[1], 0};
}

Tensor<double> solve(const Rates& k, const std::vector<double>& ts, double rtol, double atol, ode::SolveStats* stats) {
    std::vector<double> times{0.0};
    times.insert(times.end(), ts.begin(), ts.end());
    using State = std::array<double, 3>;
    const auto f = [&k](double /*t*/, const State& y) { return field(k, y); };
    const auto jac = [&k](double /*t*/, std::span<const double> y, std::span<double> J) {
        const std::array<double, 9> j = jacobian(k, {y[0], y[1], y[2]});
        std::copy(j.begin(), j.end(), J.begin());
    };
    const auto sol = ode::solve(f, State{1, 0, 0}, times,
                                {.method = ode::Method::rodas4, .rtol = rtol, .atol = atol, .max_steps = 10000000, .jacobian = jac,
                                 .autonomous = true});
    if (stats) *stats = sol.stats;
    Tensor<double> out = Tensor<double>::from_shape({ts.size(), 3});
    for (std::size_t i = 0; i < ts.size(); ++i)
        for (std::size_t s = 0; s < 3; ++s) out(i, s) = sol.ys[i + 1][s];
    return out;
}

std::vector<double> log_times(double lo, double hi, std::size_t n) {
    std::vector<double> ts(n);
    const double a = std::log10(lo), b = std::log10(hi);
    for (std::size_t i = 0; i < n; ++i) ts[i] = n == 1 ? lo : std::pow(10.0, a + (b - a) * double(i) / double(n - 1));
    if (n > 1) ts.front() = lo, ts.back() = hi;  // exactly the ends, not pow's rounding of them
    return ts;
}

Dataset make_dataset(const DataOptions& o, std::uint64_t seed) {
    if (o.points < 2) throw ValueError("stiff_kinetics", "a dataset needs at least 2 times, got " + std::to_string(o.points));
    if (!(o.t_min > 0 && o.t_min < o.t_max))
        throw ValueError("stiff_kinetics",
                         "the times need 0 < t_min < t_max, got " + std::to_string(o.t_min) + " and " + std::to_string(o.t_max));
    if (!(o.noise >= 0)) throw ValueError("stiff_kinetics", "the noise must be >= 0, got " + std::to_string(o.noise));
    Dataset d;
    d.ts = log_times(o.t_min, o.t_max, o.points);
    d.truth = solve(o.rates, d.ts, o.rtol, o.atol, &d.stats);
    d.observed = Tensor<double>::from_shape({o.points, 3});
    Generator gen(seed);
    for (std::size_t i = 0; i < o.points; ++i)
        for (std::size_t s = 0; s < 3; ++s) {
            d.observed(i, s) = d.truth(i, s) * std::exp(o.noise * gen.normal());
            d.scale[s] = std::max(d.scale[s], d.observed(i, s));
        }
    for (std::size_t s = 0; s < 3; ++s)
        if (!(d.scale[s] > 0))
            throw ValueError("stiff_kinetics", "species " + std::to_string(s + 1) + " is never positive in the data (its largest value is " +
                                                   std::to_string(d.scale[s]) + ")");
    return d;
}

}  // namespace odenet::stiff_kinetics
