#pragma once
// Everything odenet offers, in one include.
#define ODENET_VERSION_STRING "0.1.0"

#include "odenet/core.hpp"
#if __has_include("odenet/autodiff.hpp")
#include "odenet/autodiff.hpp"
#endif
#if __has_include("odenet/ode.hpp")
#include "odenet/ode.hpp"
#endif
#if __has_include("odenet/nn.hpp")
#include "odenet/nn.hpp"
#endif
