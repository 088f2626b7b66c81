#pragma once
// odenet::distributed: data-parallel training over MPI (the optional component of that name).
//   World                   the ranks of the run (world.hpp)
//   sum, max, broadcast     collectives (collectives.hpp)
//   GradientAverager        the global batch's gradient on every rank (gradient_averager.hpp)
//   DistributedSampler      each rank's examples per step (distributed_sampler.hpp)
#include "odenet/distributed/collectives.hpp"
#include "odenet/distributed/distributed_sampler.hpp"
#include "odenet/distributed/gradient_averager.hpp"
#include "odenet/distributed/world.hpp"
