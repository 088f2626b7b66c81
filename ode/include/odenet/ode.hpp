#pragma once
// The plain ODE solvers (odenet::ode, needs only core): Runge-Kutta tableaus, the generic
// stepper, error control, dense output, solve(). The differentiable solve is odenet/odeint.hpp.
#include "odenet/ode/controller.hpp"
#include "odenet/ode/dense_output.hpp"
#include "odenet/ode/norms.hpp"
#include "odenet/ode/options.hpp"
#include "odenet/ode/rk_step.hpp"
#include "odenet/ode/solution.hpp"
#include "odenet/ode/solve.hpp"
#include "odenet/ode/state_ops.hpp"
#include "odenet/ode/stats.hpp"
#include "odenet/ode/symplectic.hpp"
#include "odenet/ode/tableau.hpp"
