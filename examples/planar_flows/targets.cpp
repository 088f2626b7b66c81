// Rezende & Mohamed's energies U1-U4 as differentiable expressions. See targets.hpp.
#include "planar_flows/targets.hpp"

#include <cmath>
#include <numbers>

#include "odenet/autodiff/grad_mode.hpp"
#include "odenet/autodiff/ops.hpp"
#include "odenet/core/error.hpp"

namespace odenet::planar_flows {

namespace {

Var half_square(const Var& x, double scale) { return square(x) * (0.5 / (scale * scale)); }

// −ln(exp(−a) + exp(−b)) for columns a, b (N, 1), without underflow.
Var neg_log_sum_exp(const Var& a, const Var& b) { return -logsumexp(concat({-a, -b}, 1), 1, /*keepdims=*/true); }

Var wall(const Var& z1) { return half_square(relu(add(abs(z1), -4.0)), 0.1); }

}  // namespace

const std::vector<std::string>& target_names() {
    static const std::vector<std::string> names{"u1", "u2", "u3", "u4"};
    return names;
}

Var energy(const std::string& target, const Var& z) {
    if (z.dim() != 2 || z.shape()[1] != 2)
        throw ShapeError("planar_flows::energy", "expects points (N, 2), got " + shape_str(z.shape()));
    const Var z1 = slice(z, 1, 0, 1), z2 = slice(z, 1, 1, 2);
    const Var w1 = sin(z1 * (std::numbers::pi / 2));
    Var u;
    if (target == "u1") {
        const Var radius = sqrt(sum(square(z), {1}, /*keepdims=*/true));
        u = half_square(add(radius, -2.0), 0.4) + neg_log_sum_exp(half_square(add(z1, -2.0), 0.6), half_square(add(z1, 2.0), 0.6));
    } else if (target == "u2") {
        u = half_square(z2 - w1, 0.4) + wall(z1);
    } else if (target == "u3") {
        const Var w2 = exp(-half_square(add(z1, -1.0), 0.6)) * 3.0;
        u = neg_log_sum_exp(half_square(z2 - w1, 0.35), half_square(z2 - w1 + w2, 0.35)) + wall(z1);
    } else if (target == "u4") {
        const Var w3 = sigmoid(add(z1, -1.0) * (1 / 0.3)) * 3.0;
        u = neg_log_sum_exp(half_square(z2 - w1, 0.4), half_square(z2 - w1 + w3, 0.35)) + wall(z1);
    } else {
        throw ValueError("planar_flows::energy", "unknown target '" + target + "'; valid: u1, u2, u3, u4");
    }
    return reshape(u, {z.shape()[0]});
}

double log_normaliser(const std::string& target, std::size_t cells) {
    NoGradGuard no_grad;
    const double half = 6.0, h = 2 * half / double(cells);
    // One row of the grid at a time: the energies are evaluated as a batch, summed in long double.
    long double total = 0;
    Tensor<double> row = Tensor<double>::from_shape({cells, 2});
    for (std::size_t i = 0; i < cells; ++i) {
        for (std::size_t j = 0; j < cells; ++j) {
            row(j, 0) = -half + h * (double(i) + 0.5);
            row(j, 1) = -half + h * (double(j) + 0.5);
        }
        const Var u = energy(target, Var(row));  // named: a range-for over a temporary's value would dangle
        for (double v : u.value<double>()) total += std::exp(-(long double)v);
    }
    return std::log(double(total) * h * h);
}

}  // namespace odenet::planar_flows
