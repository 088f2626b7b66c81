#pragma once
// Separable Hamiltonian problems H(q, p) = T(p) + V(q) for the symplectic methods, with the state
// laid out as symplectic.hpp requires: q the first half of the flattened state, p the second.
#include <array>
#include <cmath>

#include "odenet/core/tensor.hpp"

namespace odenet::ode::testing {

/// H = sum_j (p_j^2 + q_j^2) / 2 over three uncoupled unit-frequency oscillators, a (2, 3)
/// state: row 0 is q, row 1 is p. Exact: q = q0 cos t + p0 sin t, p = p0 cos t - q0 sin t.
template <class T>
struct Oscillators {
    Tensor<T> y0() const {
        Tensor<T> y = Tensor<T>::from_shape({2, 3});
        const double q0[3] = {1.0, 0.0, -0.5}, p0[3] = {0.0, 1.0, 0.8};
        for (int j = 0; j < 3; ++j) {
            y(0, j) = static_cast<T>(q0[j]);
            y(1, j) = static_cast<T>(p0[j]);
        }
        return y;
    }
    // dq/dt = dH/dp = p (reads p only), dp/dt = -dH/dq = -q (reads q only).
    Tensor<T> operator()(double, const Tensor<T>& y) const {
        Tensor<T> dy = Tensor<T>::from_shape({2, 3});
        for (int j = 0; j < 3; ++j) {
            dy(0, j) = y(1, j);
            dy(1, j) = -y(0, j);
        }
        return dy;
    }
    Tensor<T> exact(double t) const {
        const Tensor<T> a = y0();
        Tensor<T> y = Tensor<T>::from_shape({2, 3});
        const double c = std::cos(t), s = std::sin(t);
        for (int j = 0; j < 3; ++j) {
            y(0, j) = static_cast<T>(c * a(0, j) + s * a(1, j));
            y(1, j) = static_cast<T>(c * a(1, j) - s * a(0, j));
        }
        return y;
    }
};

/// One oscillator as (q, p) in a std::array: the cheapest state for runs of 10^5 steps.
struct Oscillator2 {
    void operator()(double, const std::array<double, 2>& y, std::array<double, 2>& dy) const {
        dy[0] = y[1];
        dy[1] = -y[0];
    }
    static double energy(const std::array<double, 2>& y) { return 0.5 * (y[0] * y[0] + y[1] * y[1]); }
};

/// The pendulum H = p^2 / 2 - cos q: dq/dt = p, dp/dt = -sin q. Nonlinear, no closed form used.
struct Pendulum {
    void operator()(double, const std::array<double, 2>& y, std::array<double, 2>& dy) const {
        dy[0] = y[1];
        dy[1] = -std::sin(y[0]);
    }
    static double energy(const std::array<double, 2>& y) { return 0.5 * y[1] * y[1] - std::cos(y[0]); }
};

}  // namespace odenet::ode::testing
