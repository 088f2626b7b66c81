#pragma once
// The Jacobian of a function of one Var by reverse mode: one sweep of the engine per row, or per
// row of a block when the entries form independent systems (a batch whose samples do not
// interact). The implicit solvers' Jacobian in odeint (ode/implicit.hpp) comes from here.
#include <cstddef>
#include <functional>

#include "odenet/autodiff/var.hpp"
#include "odenet/core/tensor.hpp"

namespace odenet {

/// ∂f/∂x at x, as `blocks` blocks of m × m (m = numel(x) / blocks), float64, shape (blocks, m, m):
/// J[b][i][j] = ∂f_{b m + i} / ∂x_{b m + j}. f must return as many entries as x has. With
/// blocks > 1 the caller declares that entry b m + i of f depends on block b of x only; each
/// sweep then seeds row i of every block at once (m sweeps instead of numel(x)), and a
/// dependence across blocks would be added into the wrong entries, so it is not checked here
/// but by the caller's choice. Records f in its own scope whatever the grad mode; x is read,
/// never differentiated through (the result is a value).
/// Throws ShapeError when numel(f(x)) != numel(x) or blocks does not divide numel(x).
Tensor<double> jacobian(const std::function<Var(const Var&)>& f, const Var& x, std::size_t blocks = 1);

}  // namespace odenet
