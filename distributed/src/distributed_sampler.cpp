#include "odenet/distributed/distributed_sampler.hpp"

#include <limits>
#include <numeric>
#include <string>

#include "odenet/core/error.hpp"
#include "odenet/core/random.hpp"

namespace odenet::distributed {

DistributedSampler::DistributedSampler(SamplerOptions options) : options_(options) {
    const char* where = "distributed::DistributedSampler";
    if (options.dataset_size == 0) throw ValueError(where, "dataset_size is 0: there is nothing to sample");
    if (options.batch_size == 0) throw ValueError(where, "batch_size is 0; it must be at least 1");
    if (options.ranks < 1) throw ValueError(where, "ranks is " + std::to_string(options.ranks) + "; it must be at least 1");
    if (options.batch_size > std::numeric_limits<std::size_t>::max() / std::size_t(options.ranks)) {
        throw ValueError(where, "batch_size " + std::to_string(options.batch_size) + " times " +
                                    std::to_string(options.ranks) + " ranks overflows the global batch");
    }
    if (options.rank < 0 || options.rank >= options.ranks) {
        throw ValueError(where, "rank is " + std::to_string(options.rank) + "; it must be in [0, " +
                                    std::to_string(options.ranks) + ")");
    }
    set_epoch(0);
}

void DistributedSampler::set_epoch(std::size_t epoch) {
    epoch_ = epoch;
    order_.resize(options_.dataset_size);
    std::iota(order_.begin(), order_.end(), std::size_t{0});
    if (!options_.shuffle) return;
    // Fisher-Yates, the same draws on every rank (Note [Sharding rule]).
    Generator gen(options_.seed + 1000 * epoch);
    for (std::size_t i = order_.size(); i > 1; --i) std::swap(order_[i - 1], order_[gen.below(i)]);
}

std::size_t DistributedSampler::steps_per_epoch() const {
    return (options_.dataset_size + global_batch() - 1) / global_batch();
}

DistributedSampler::Batch DistributedSampler::batch(std::size_t step) const {
    if (step >= steps_per_epoch()) {
        throw ValueError("distributed::DistributedSampler", "step " + std::to_string(step) + " is past the epoch's " +
                                                                std::to_string(steps_per_epoch()) + " steps");
    }
    const std::size_t begin = step * global_batch();
    const std::size_t m = std::min(global_batch(), options_.dataset_size - begin);
    const std::size_t ranks = std::size_t(options_.ranks), r = std::size_t(options_.rank);
    const std::size_t lo = begin + r * m / ranks, hi = begin + (r + 1) * m / ranks;
    return {std::vector<std::size_t>(order_.begin() + long(lo), order_.begin() + long(hi)), m};
}

std::vector<std::size_t> DistributedSampler::shard() const {
    std::vector<std::size_t> out;
    for (std::size_t s = 0; s < steps_per_epoch(); ++s) {
        const auto b = batch(s);
        out.insert(out.end(), b.indices.begin(), b.indices.end());
    }
    return out;
}

}  // namespace odenet::distributed
