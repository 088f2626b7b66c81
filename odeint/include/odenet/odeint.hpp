#pragma once
// The differentiable solve (odenet::odeint, over autodiff and the plain solvers): odeint with
// direct, adjoint and checkpointed gradients, and the Var state the solvers step.
#include "odenet/ode.hpp"
#include "odenet/odeint/odeint.hpp"
#include "odenet/odeint/var_state.hpp"
