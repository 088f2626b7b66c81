// A user who only integrates an ODE: links odenet::ode alone (core and the plain solvers, no
// autodiff). Solves the harmonic oscillator y'' = -y over one period with dopri5 on plain
// tensors and checks y(2 pi) = y(0). run.cmake then checks with nm that no symbol of the autodiff
// library reached the executable.
//   ode_only
#include <cmath>
#include <cstdio>
#include <numbers>

#include "odenet/ode.hpp"

namespace on = odenet;

int main() {
    const on::Tensor<double> y0{1.0, 0.0};
    const double period = 2 * std::numbers::pi;
    auto f = [](double, const on::Tensor<double>& y) { return on::Tensor<double>{y(1), -y(0)}; };
    const auto sol = on::ode::solve(f, y0, {0.0, period}, {.rtol = 1e-10, .atol = 1e-12});
    const double err = std::hypot(sol.ys[1](0) - 1.0, sol.ys[1](1));
    std::printf("ode_only: |y(2 pi) - y(0)| = %.2e after %zu evaluations\n", err, sol.stats.nfe);
    if (!(err < 1e-8)) return 1;
    std::printf("ode_only: OK\n");
    return 0;
}
