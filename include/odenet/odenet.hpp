#pragma once
// Everything odenet offers except the optional util component, in one include.
#include "odenet/version.hpp"

#include "odenet/core.hpp"
#include "odenet/autodiff.hpp"
#include "odenet/ode.hpp"
#include "odenet/odeint.hpp"
#include "odenet/nn.hpp"
