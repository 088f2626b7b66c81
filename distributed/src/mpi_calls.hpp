#pragma once
// What every source here shares: MPI error codes turned into exceptions, and waiting on a
// non-blocking request for at most the world's timeout (Note [Failing ranks] in world.hpp).
#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "odenet/autodiff/var.hpp"

#include "odenet/distributed/world.hpp"

namespace odenet::distributed::detail {

/// CommunicationError "<where>: <MPI's error string>" unless rc is MPI_SUCCESS.
void check(int rc, const std::string& where);

/// Waits for `request`, polling it (which also lets MPI progress the transfer), and throws
/// TimeoutError naming `what` and this rank once the world's timeout has passed.
void wait(const World& world, MPI_Request& request, const std::string& what);

/// `n` elements as MPI's int count; ValueError naming `what` past INT_MAX (MPI counts are int).
int count(std::size_t n, const std::string& what);

/// "name (shape) dtype; " per tensor: what ranks compare (check_same) before they exchange
/// tensors. ValueError naming `what` and an undefined tensor.
std::string layout(const std::vector<std::pair<std::string, Var>>& tensors, const std::string& what);

/// FNV-1a of `bytes` bytes: how ranks compare descriptions and values without sending them.
std::uint64_t fingerprint(const void* data, std::size_t bytes);

/// MPI's datatype for a float32 or float64 buffer.
template <class T>
MPI_Datatype datatype() {
    return sizeof(T) == 4 ? MPI_FLOAT : MPI_DOUBLE;
}

}  // namespace odenet::distributed::detail
