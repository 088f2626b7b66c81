#include "odenet/hamiltonian/systems.hpp"

#include <cmath>
#include <numbers>

#include "odenet/core/error.hpp"
#include "odenet/ode/solve.hpp"

namespace odenet::hamiltonian {

const char* system_name(System s) { return s == System::pendulum ? "pendulum" : "spring"; }

System system_from_name(const std::string& name) {
    if (name == "pendulum") return System::pendulum;
    if (name == "spring") return System::spring;
    throw ValueError("hamiltonian", "unknown system '" + name + "' (pendulum, spring)");
}

double energy(System s, double q, double p) {
    return 0.5 * p * p + (s == System::pendulum ? 1.0 - std::cos(q) : 0.5 * q * q);
}

Tensor<double> field(System s, const Tensor<double>& y) {
    Tensor<double> f = Tensor<double>::from_shape(y.shape());
    for (std::size_t i = 0; i < y.shape()[0]; ++i) {
        f(i, 0) = y(i, 1);                                                     // dq/dt = ∂H/∂p = p
        f(i, 1) = s == System::pendulum ? -std::sin(y(i, 0)) : -y(i, 0);  // dp/dt = −∂H/∂q
    }
    return f;
}

std::vector<double> state_with_energy(System s, double e, Generator& gen) {
    if (!(e > 0) || (s == System::pendulum && !(e < 2)))
        throw ValueError("hamiltonian", "an initial energy must be in (0, 2) for the pendulum and > 0 for the spring, got " + std::to_string(e));
    if (s == System::spring) {
        const double angle = 2 * std::numbers::pi * gen.uniform(), r = std::sqrt(2 * e);
        return {r * std::cos(angle), r * std::sin(angle)};
    }
    const double q_max = std::acos(1 - e);
    const double q = q_max * (2 * gen.uniform() - 1);
    const double p = std::sqrt(std::max(0.0, 2 * (e - (1 - std::cos(q)))));
    return {q, gen.uniform() < 0.5 ? -p : p};
}

Tensor<double> initial_states(System s, std::size_t count, double e_min, double e_max, std::uint64_t seed) {
    Generator gen(seed);
    Tensor<double> y0 = Tensor<double>::from_shape({count, 2});
    for (std::size_t k = 0; k < count; ++k) {
        const double e = e_min + (e_max - e_min) * gen.uniform();
        const std::vector<double> y = state_with_energy(s, e, gen);
        y0(k, 0) = y[0], y0(k, 1) = y[1];
    }
    return y0;
}

Tensor<double> true_rollout(System s, const Tensor<double>& y0, const std::vector<double>& ts, double tol, std::size_t* nfe) {
    const auto f = [s](double /*t*/, const Tensor<double>& y) { return field(s, y); };
    const auto sol = ode::solve(f, y0, ts, {.rtol = tol, .atol = tol, .max_steps = 100000000});
    if (nfe) *nfe = sol.stats.nfe;
    const std::size_t k = y0.shape()[0];
    Tensor<double> out = Tensor<double>::from_shape({ts.size(), k, 2});
    for (std::size_t i = 0; i < ts.size(); ++i)
        for (std::size_t j = 0; j < k; ++j) out(i, j, 0) = sol.ys[i](j, 0), out(i, j, 1) = sol.ys[i](j, 1);
    return out;
}

Dataset make_dataset(System s, const DataOptions& o, std::uint64_t seed) {
    const std::size_t samples = std::size_t(std::floor(o.t_span / o.dt + 1e-9)) + 1;
    std::vector<double> ts(samples);
    for (std::size_t i = 0; i < samples; ++i) ts[i] = double(i) * o.dt;
    const Tensor<double> clean = true_rollout(s, initial_states(s, o.trajectories, o.e_min, o.e_max, seed), ts);
    Generator noise(seed + 0x9e3779b97f4a7c15ull);
    const std::size_t m = samples * o.trajectories;
    Dataset d{Tensor<double>::from_shape({m, 2}), Tensor<double>::from_shape({m, 2})};
    Tensor<double> flat = Tensor<double>::from_shape({m, 2});
    for (std::size_t i = 0; i < samples; ++i)
        for (std::size_t k = 0; k < o.trajectories; ++k) {
            const std::size_t row = k * samples + i;
            flat(row, 0) = clean(i, k, 0), flat(row, 1) = clean(i, k, 1);
            d.y(row, 0) = clean(i, k, 0) + o.noise * noise.normal();
            d.y(row, 1) = clean(i, k, 1) + o.noise * noise.normal();
        }
    d.dydt = field(s, flat);
    return d;
}

}  // namespace odenet::hamiltonian
