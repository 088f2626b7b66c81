#pragma once
// The ranks of a data-parallel run as train() sees them (mnist --distributed). A single-process
// run has none (TrainOptions::ranks = nullptr). mpi_ranks.hpp implements this over
// odenet::distributed, and exists only where odenet was built with MPI; the training loop itself
// needs no MPI.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "odenet/autodiff/var.hpp"
#include "odenet/nn/module.hpp"

namespace odenet::mnist {

class Ranks {
public:
    virtual ~Ranks() = default;
    virtual int rank() const = 0;
    virtual int size() const = 0;
    /// Rank 0 prints, logs, plots and writes checkpoints; the others write nothing.
    bool is_root() const { return rank() == 0; }
    /// Element-wise sums over ranks (metrics: loss sums, counts, NFE).
    virtual std::vector<double> sum(std::vector<double> values) = 0;
    /// Gives every rank rank 0's parameters and buffers and prepares gradient averaging over the
    /// model's parameters. Called once, after the model is built (or loaded from a checkpoint).
    virtual void attach(nn::Module& model) = 0;
    /// Backward of this rank's mean loss over `examples`, then every parameter's grad() holds the
    /// global batch's gradient. A rank without an example this step passes an undefined loss and 0.
    virtual void backward(const Var& loss, std::size_t examples) = 0;
    /// Shards `dataset_size` examples in global batches of per_rank_batch × size(), reshuffled
    /// each epoch from `seed` (DistributedSampler's rule: the permutation a single-process run
    /// draws, each global batch split into contiguous pieces, the last short one as evenly as it divides).
    virtual void shard(std::size_t dataset_size, std::size_t per_rank_batch, std::uint64_t seed) = 0;
    virtual std::size_t steps_per_epoch() const = 0;
    /// This rank's examples at `step` (0-based) of `epoch` (1-based).
    virtual std::vector<std::size_t> batch(std::size_t epoch, std::size_t step) = 0;
    /// Seconds spent waiting for the gradient all-reduces so far.
    virtual double communication_seconds() const = 0;
};

}  // namespace odenet::mnist
