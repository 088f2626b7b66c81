#pragma once
// The unnormalised target densities p(z) ∝ exp(−U(z)) of the density-matching experiment: the
// four energies U1-U4 of Rezende & Mohamed (2015, "Variational inference with normalizing flows",
// Table 1). The Neural ODE paper (Chen et al. 2018, section 4.1, Figure 4) shows its targets only
// as images, with no formula, so these stand in for them.
//   w1(z) = sin(2π z1 / 4),  w2(z) = 3 exp(−½((z1 − 1) / 0.6)²),  w3(z) = 3 σ((z1 − 1) / 0.3)
//   U1 = ½((|z| − 2) / 0.4)² − ln(exp(−½((z1 − 2) / 0.6)²) + exp(−½((z1 + 2) / 0.6)²))
//   U2 = ½((z2 − w1) / 0.4)²
//   U3 = −ln(exp(−½((z2 − w1) / 0.35)²) + exp(−½((z2 − w1 + w2) / 0.35)²))
//   U4 = −ln(exp(−½((z2 − w1) / 0.4)²) + exp(−½((z2 − w1 + w3) / 0.35)²))
// U2-U4 do not depend on z1 far from the origin, so exp(−U) is not integrable along z1 (KL(q‖p)
// would be unbounded below: q gains by spreading out). Rezende & Mohamed draw them on [−4, 4]²;
// we make that the support by adding the wall ½(max(|z1| − 4, 0) / 0.1)² to U2-U4.
#include <string>
#include <vector>

#include "odenet/autodiff/var.hpp"
#include "odenet/core/tensor.hpp"

namespace odenet::planar_flows {

/// "u1", "u2", "u3", "u4".
const std::vector<std::string>& target_names();

/// U(z) for points z (N, 2), (N,), differentiable in z; any dtype. ValueError naming the valid
/// targets for an unknown name, ShapeError for points not (N, 2).
Var energy(const std::string& target, const Var& z);

/// log Z = log ∫ exp(−U) over R², by the midpoint rule on [−6, 6]² with `cells` per side
/// (exp(−U) is below 1e-30 outside it for all four). Converged to 1e-6 at 1200 cells.
double log_normaliser(const std::string& target, std::size_t cells = 1200);

}  // namespace odenet::planar_flows
