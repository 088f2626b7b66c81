// Collectives on 2 ranks: sums and maxima, broadcasts, layout checks, and a wait that times out.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "odenet/distributed.hpp"
#include "odenet/nn.hpp"
#include "the_world.hpp"

using namespace odenet;
namespace dist = odenet::distributed;

TEST_CASE("sum and max over ranks") {
    const auto& world = test::the_world();
    REQUIRE(world.size() == 2);
    CHECK(dist::sum(world, double(world.rank() + 1)) == 3.0);
    const auto m = dist::max(world, {double(world.rank()), -double(world.rank())});
    CHECK(m[0] == 1.0);
    CHECK(m[1] == 0.0);
    CHECK(dist::sum(world, std::vector<double>{0.5, 2.0}) == std::vector<double>{1.0, 4.0});
    world.barrier();
}

namespace {
struct Net : nn::Module {
    nn::Linear a{3, 2}, b{2, 1};
    nn::BatchNorm2d bn{2};
    Net() {
        register_module("a", a);
        register_module("bn", bn);
        register_module("b", b);
    }
};
}  // namespace

TEST_CASE("broadcast_module gives every rank rank 0's parameters and buffers, float32 and float64 mixed") {
    const auto& world = test::the_world();
    manual_seed(100 + std::uint64_t(world.rank()));  // different weights on each rank
    Net net;
    net.b.to(Dtype::float64);
    Var mean_buffer = net.named_buffers()[0].second;
    mean_buffer.set_value(Value(Tensor<float>(xt::ones<float>({2}) * float(world.rank() + 5))));
    dist::broadcast_module(world, net);
    // Rank 0 sends its values; comparing the sums over ranks with twice rank 0's shows equality.
    for (const auto& [name, v] : net.named_parameters()) {
        const double local = to_dtype(sum(v), Dtype::float64).item();
        const double root = dist::sum(world, world.is_root() ? local : 0.0);
        CHECK_MESSAGE(dist::sum(world, local) == 2 * root, name);
    }
    CHECK(mean_buffer.value<float>()(0) == 5.0f);
}

TEST_CASE("broadcast and GradientAverager refuse models that differ between ranks, naming the entry") {
    const auto& world = test::the_world();
    nn::Linear same(2, 2), differs(2, world.is_root() ? 3 : 4);
    std::vector<std::pair<std::string, Var>> tensors = {{"same", same.weight}, {"differs", differs.weight}};
    if (world.rank() == 1) {
        CHECK_THROWS_WITH_AS(dist::broadcast(world, tensors), doctest::Contains("rank 1 of 2 differs from rank 0: 'differs (4, 2) float64' where rank 0 has 'differs (3, 2) float64'"),
                             ValueError);
    } else {
        CHECK_THROWS_WITH_AS(dist::broadcast(world, tensors), doctest::Contains("another rank differs from rank 0 (rank 0 of 2)"), ValueError);
    }
    CHECK_THROWS_AS(dist::GradientAverager(world, tensors), ValueError);
    CHECK_THROWS_WITH_AS(dist::GradientAverager(world, {}), doctest::Contains("no parameters"), ValueError);
    CHECK_THROWS_WITH_AS(dist::GradientAverager(world, {{"w", same.weight}}, {.bucket_bytes = 0}),
                         doctest::Contains("bucket_bytes is 0"), ValueError);
    world.barrier();
}

TEST_CASE("GradientAverager refuses ranks whose weights differ, naming broadcast_module; a second World is refused") {
    const auto& world = test::the_world();
    manual_seed(500 + std::uint64_t(world.rank()));
    nn::Linear layer(3, 2);
    CHECK_THROWS_WITH_AS(dist::GradientAverager(world, layer.named_parameters()),
                         doctest::Contains("broadcast_module"), ValueError);
    dist::broadcast_module(world, layer);
    CHECK_NOTHROW(dist::GradientAverager(world, layer.named_parameters()));
    CHECK_THROWS_WITH_AS(dist::World(), doctest::Contains("a World exists already"), ValueError);
    world.barrier();
}

TEST_CASE("a parameter without a gradient on every rank keeps none; one with a gradient on one rank gets the weighted sum") {
    const auto& world = test::the_world();
    Var used(Tensor<double>{1.0, 2.0}, true), unused(Tensor<double>{3.0}, true), half(Tensor<double>{4.0}, true);
    dist::GradientAverager averager(world, {{"used", used}, {"unused", unused}, {"half", half}});
    // Rank 0: 1 example, loss 2·used·1 (+ half); rank 1: 3 examples, loss used·x.
    Var loss = world.is_root() ? sum(used * 2.0) + sum(half) : sum(used * 1.0);
    averager.backward(loss, world.is_root() ? 1 : 3);
    // (1·2 + 3·1) / 4 = 1.25 per element; half: (1·1 + 3·0) / 4.
    CHECK(used.grad().value<double>()(0) == 1.25);
    CHECK(half.grad().value<double>()(0) == 0.25);
    CHECK_FALSE(unused.grad().defined());
    CHECK(averager.stats().allreduce_calls == 1);  // one bucket: one call for all three
}

TEST_CASE("no rank with an example is an error, not a zero gradient") {
    const auto& world = test::the_world();
    Var w(Tensor<double>{1.0}, true);
    dist::GradientAverager averager(world, {{"w", w}});
    CHECK_THROWS_WITH_AS(averager.skip_backward(), doctest::Contains("no rank had an example"), ValueError);
    CHECK_THROWS_WITH_AS(averager.backward(sum(w), 0), doctest::Contains("skip_backward"), ValueError);
    world.barrier();
}

TEST_CASE("a collective whose partner does not come times out with a TimeoutError naming it") {
    auto& world = const_cast<dist::World&>(test::the_world());
    if (world.is_root()) {
        world.set_timeout(0.5);
        const auto t0 = std::chrono::steady_clock::now();
        CHECK_THROWS_WITH_AS(world.barrier("the late barrier"), doctest::Contains("rank 0 of 2 waited 0.5 s"),
                             dist::TimeoutError);
        CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3));
        world.set_timeout(60);
        world.barrier();  // rank 1's second barrier
    } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        world.barrier();  // meets rank 0's abandoned first barrier
        world.barrier();
    }
    CHECK_THROWS_AS(world.set_timeout(0), ValueError);
    CHECK_THROWS_AS(world.set_timeout(std::nan("")), ValueError);
}
