#pragma once
// Error norms over the scaled error err_i / (atol + rtol max(|y0_i|, |y1_i|)).
#include <cstddef>
#include <span>

#include "odenet/ode/options.hpp"

namespace odenet::ode {

/// Root mean square, Hairer, Norsett & Wanner I, eq. II.4.11 (the default of every solve).
double rms_norm(std::span<const double> scaled);

/// Max norm: the worst component decides.
double max_norm(std::span<const double> scaled);

/// RMS over elements [begin, end) only (with the others ignored): a seminorm, as the adjoint
/// uses for the parameter part of its augmented state (Kidger et al. 2021, "Hey, that's not an
/// ODE", ICML). Throws ValueError if begin > end.
ErrorNorm rms_seminorm(std::size_t begin, std::size_t end);

}  // namespace odenet::ode
