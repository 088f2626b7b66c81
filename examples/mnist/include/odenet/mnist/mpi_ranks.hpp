#pragma once
// Ranks over odenet::distributed (MPI): built only where odenet::distributed exists.
#include <memory>

#include "odenet/distributed/world.hpp"
#include "odenet/mnist/ranks.hpp"

namespace odenet::mnist {

/// The ranks of `world` (which must outlive the result).
std::unique_ptr<Ranks> mpi_ranks(const distributed::World& world);

}  // namespace odenet::mnist
