#pragma once
// The integrator over Var states (direct backprop, checkpointed re-solves), compiled once in
// solve_var.cpp rather than in every gradient mode's file (see ode/solve_compiled.hpp).
#include <functional>
#include <vector>

#include "odenet/autodiff/var.hpp"
#include "odenet/ode/options.hpp"
#include "odenet/ode/solution.hpp"

namespace odenet::ode::detail {

using VarRhs = std::function<Var(double t, const Var& y)>;

Solution<Var> solve_var(const VarRhs& f, const Var& y0, const std::vector<double>& ts, const Options& options);

}  // namespace odenet::ode::detail
