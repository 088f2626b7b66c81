#pragma once
// DistributedSampler: which examples each rank trains on, step by step, with no communication.
//
// Note [Sharding rule]
// Every epoch starts from one permutation of [0, N), the same on every rank: the Fisher-Yates
// shuffle driven by Generator(seed + 1000·epoch) (or the identity with shuffle off). Step s takes
// the next global batch of m = min(G, N − s·G) examples, G = batch_size·ranks, and splits it into
// `ranks` contiguous pieces: rank r gets positions [⌊r·m/R⌋, ⌊(r+1)·m/R⌋) of it. So
//  - the shards of one epoch are disjoint and cover the dataset exactly once: when N is not a
//    multiple of G, the last step is short, its m examples shared as evenly as they divide
//    (a rank may get none when m < R), and nothing is dropped or repeated;
//  - every full step gives each rank batch_size examples;
//  - a step's examples, and their order, depend on the seed, the epoch and G alone, not on
//    how G is split: 2 ranks of batch 16 train on what 1 rank of batch 32 trains on, which is
//    what makes them equivalent (with GradientAverager's weighting, Note [Weighted averaging]).
#include <cstddef>
#include <cstdint>
#include <vector>

namespace odenet::distributed {

struct SamplerOptions {
    std::size_t dataset_size = 0;  ///< N >= 1
    std::size_t batch_size = 1;    ///< per rank, >= 1
    int rank = 0;
    int ranks = 1;                 ///< >= 1, rank in [0, ranks)
    std::uint64_t seed = 0;
    bool shuffle = true;
};

class DistributedSampler {
public:
    /// ValueError naming the option for an empty dataset, a zero batch or a rank out of range.
    explicit DistributedSampler(SamplerOptions options);

    /// Draws epoch `epoch`'s permutation (any number; runs use 1, 2, ...).
    void set_epoch(std::size_t epoch);
    std::size_t epoch() const { return epoch_; }

    std::size_t global_batch() const { return options_.batch_size * std::size_t(options_.ranks); }
    /// ⌈N / global_batch⌉.
    std::size_t steps_per_epoch() const;

    struct Batch {
        std::vector<std::size_t> indices;  ///< this rank's examples (may be empty on a short last step)
        std::size_t global_size = 0;       ///< m: the step's examples over all ranks
    };
    /// This rank's examples at step `step` of the current epoch (ValueError past the epoch's end).
    Batch batch(std::size_t step) const;
    /// This rank's examples over the whole epoch, in step order.
    std::vector<std::size_t> shard() const;
    /// The epoch's permutation of [0, N), shared by all ranks.
    const std::vector<std::size_t>& order() const { return order_; }

private:
    SamplerOptions options_;
    std::size_t epoch_ = 0;
    std::vector<std::size_t> order_;
};

}  // namespace odenet::distributed
