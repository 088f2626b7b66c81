#pragma once
// Helpers that turn published continuous-extension formulas into DenseTableau weights.
// Private to ode/src: tableaus.cpp builds every method with them.
#include <vector>

#include "odenet/ode/tableau.hpp"

namespace odenet::ode::detail {

/// Polynomial coefficients, lowest power first.
using Poly = std::vector<double>;

Poly poly_mul(const Poly& p, const Poly& q);

/// Hairer's nested continuous output (DOPRI5's CONTD5, DOP853's CONTD8):
///   y(theta) = y0 + theta (r0 + (1-theta) (r1 + theta (r2 + (1-theta) (r3 + ...))))
/// where each r_k = h * sum_j r[k][j] k_j. Expanded into per-stage monomial weights.
std::vector<Poly> nested_to_poly(const std::vector<std::vector<double>>& r, int n_dense_stages);

/// The first three nested vectors every Hairer extension starts with, over `n` dense stages
/// (f1 at index s = b.size()): r0 = b (y1 - y0), r1 = e_0 - b (h f0 - (y1 - y0)),
/// r2 = 2 b - e_0 - e_s (2 (y1 - y0) - h (f0 + f1)).
std::vector<std::vector<double>> hairer_leading_vectors(const std::vector<double>& b, int n);

}  // namespace odenet::ode::detail
