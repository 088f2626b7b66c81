#pragma once
// The World of this rank, made by main.cpp before any case runs.
#include "odenet/distributed/world.hpp"

namespace odenet::test {
extern const distributed::World* the_world_;
inline const distributed::World& the_world() { return *the_world_; }
}  // namespace odenet::test
