// DistributedSampler (Note [Sharding rule]): shards disjoint and covering, reshuffled per epoch,
// reproducible from the seed, independent of how the global batch is split.
#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "odenet/core/error.hpp"
#include "odenet/distributed/distributed_sampler.hpp"

using odenet::distributed::DistributedSampler;
using odenet::distributed::SamplerOptions;

namespace {

std::vector<std::vector<std::size_t>> shards(std::size_t n, std::size_t batch, int ranks, std::uint64_t seed,
                                             std::size_t epoch) {
    std::vector<std::vector<std::size_t>> out;
    for (int r = 0; r < ranks; ++r) {
        DistributedSampler s({.dataset_size = n, .batch_size = batch, .rank = r, .ranks = ranks, .seed = seed});
        s.set_epoch(epoch);
        out.push_back(s.shard());
    }
    return out;
}

}  // namespace

TEST_CASE("sampler: shards are disjoint and cover the dataset once, for sizes that do and do not divide") {
    for (std::size_t n : {1, 2, 7, 64, 100, 101}) {
        for (int ranks : {1, 2, 3, 4}) {
            for (std::size_t batch : {1, 5, 16}) {
                const auto sh = shards(n, batch, ranks, 3, 1);
                std::vector<std::size_t> all;
                for (const auto& s : sh) all.insert(all.end(), s.begin(), s.end());
                std::sort(all.begin(), all.end());
                CAPTURE(n);
                CAPTURE(ranks);
                CAPTURE(batch);
                REQUIRE(all.size() == n);  // nothing dropped or repeated
                for (std::size_t i = 0; i < n; ++i) REQUIRE(all[i] == i);
            }
        }
    }
}

TEST_CASE("sampler: full steps give batch_size each, and the short last step is split as evenly as it divides") {
    // N = 37, 2 ranks of 8: steps of 16, 16 and a last one of 5 (rank 0 gets 2, rank 1 gets 3).
    DistributedSampler r0({.dataset_size = 37, .batch_size = 8, .rank = 0, .ranks = 2});
    DistributedSampler r1({.dataset_size = 37, .batch_size = 8, .rank = 1, .ranks = 2});
    CHECK(r0.steps_per_epoch() == 3);
    CHECK(r0.global_batch() == 16);
    for (std::size_t s = 0; s < 2; ++s) {
        CHECK(r0.batch(s).indices.size() == 8);
        CHECK(r1.batch(s).indices.size() == 8);
        CHECK(r0.batch(s).global_size == 16);
    }
    CHECK(r0.batch(2).indices.size() == 2);
    CHECK(r1.batch(2).indices.size() == 3);
    CHECK(r1.batch(2).global_size == 5);
    // Fewer examples than ranks: some ranks get none.
    DistributedSampler lone({.dataset_size = 1, .batch_size = 4, .rank = 0, .ranks = 2});
    DistributedSampler other({.dataset_size = 1, .batch_size = 4, .rank = 1, .ranks = 2});
    CHECK(lone.batch(0).indices.empty());
    CHECK(other.batch(0).indices.size() == 1);
    CHECK_THROWS_AS(lone.batch(1), odenet::ValueError);
}

TEST_CASE("sampler: a step's examples depend on the global batch, not on how it is split") {
    DistributedSampler one({.dataset_size = 50, .batch_size = 8, .rank = 0, .ranks = 1, .seed = 9});
    one.set_epoch(2);
    for (std::size_t s = 0; s < one.steps_per_epoch(); ++s) {
        std::vector<std::size_t> joined;
        std::size_t m = 0;
        for (int r = 0; r < 2; ++r) {
            DistributedSampler half({.dataset_size = 50, .batch_size = 4, .rank = r, .ranks = 2, .seed = 9});
            half.set_epoch(2);
            const auto b = half.batch(s);
            joined.insert(joined.end(), b.indices.begin(), b.indices.end());
            m = b.global_size;
        }
        CHECK(joined == one.batch(s).indices);
        CHECK(m == one.batch(s).global_size);
    }
}

TEST_CASE("sampler: reshuffled every epoch, identical for the same seed, different for another") {
    const auto e1 = shards(200, 10, 2, 5, 1), e2 = shards(200, 10, 2, 5, 2);
    CHECK(e1 != e2);
    CHECK(shards(200, 10, 2, 5, 1) == e1);
    CHECK(shards(200, 10, 2, 6, 1) != e1);
    // shuffle off: the identity order, the same every epoch.
    DistributedSampler plain({.dataset_size = 6, .batch_size = 3, .rank = 1, .ranks = 2, .shuffle = false});
    plain.set_epoch(4);
    CHECK(plain.shard() == std::vector<std::size_t>{3, 4, 5});
}

TEST_CASE("sampler: bad options are refused by name") {
    using odenet::ValueError;
    CHECK_THROWS_WITH_AS(DistributedSampler({.dataset_size = 0}), doctest::Contains("dataset_size is 0"), ValueError);
    CHECK_THROWS_WITH_AS(DistributedSampler({.dataset_size = 5, .batch_size = 0}), doctest::Contains("batch_size is 0"),
                         ValueError);
    CHECK_THROWS_WITH_AS(DistributedSampler({.dataset_size = 5, .rank = 2, .ranks = 2}),
                         doctest::Contains("rank is 2; it must be in [0, 2)"), ValueError);
    CHECK_THROWS_WITH_AS(DistributedSampler({.dataset_size = 5, .ranks = 0}), doctest::Contains("ranks is 0"), ValueError);
    CHECK_THROWS_WITH_AS(DistributedSampler({.dataset_size = 5, .batch_size = std::size_t(1) << 63, .ranks = 2}),
                         doctest::Contains("overflows the global batch"), ValueError);
}
