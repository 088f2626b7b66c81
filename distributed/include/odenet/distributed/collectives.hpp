#pragma once
// Collectives over a World: sums and maxima of metrics, and the broadcast that makes every
// rank's model start as rank 0's. Every call here must be made by all ranks, in the same order;
// each waits at most World::timeout() (Note [Failing ranks] in world.hpp).
#include <string>
#include <vector>

#include "odenet/autodiff/var.hpp"
#include "odenet/distributed/world.hpp"
#include "odenet/nn/module.hpp"

namespace odenet::distributed {

/// The sum over ranks of each element (a metric's numerator and count, say), in float64.
std::vector<double> sum(const World& world, std::vector<double> values, const std::string& what = "sum");
double sum(const World& world, double value, const std::string& what = "sum");
/// The maximum over ranks of each element.
std::vector<double> max(const World& world, std::vector<double> values, const std::string& what = "max");

/// Overwrites `tensors` on every rank with rank 0's values, one MPI call per dtype. Every rank
/// must pass tensors of the same shapes and dtypes in the same order: checked first, and a
/// ValueError names the first that differs from rank 0's.
void broadcast(const World& world, const std::vector<std::pair<std::string, Var>>& tensors,
               const std::string& what = "broadcast");
/// Gives every rank rank 0's parameters and buffers (as PyTorch's DistributedDataParallel does
/// when it wraps a model): call once after building the model, and after loading a checkpoint
/// on rank 0 only. ValueError when a rank's model has other names, shapes or dtypes.
void broadcast_module(const World& world, nn::Module& module);

/// ValueError unless `description` is the same string on every rank; `what` says what it
/// describes ("the model's parameters"). For settings that must agree (seeds, batch sizes).
void check_same(const World& world, const std::string& description, const std::string& what);

}  // namespace odenet::distributed
