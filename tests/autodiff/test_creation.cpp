// linspace, arange, randperm and choice: values and lengths as torch gives them, the
// permutation property, reproducibility from a seeded Generator, and the errors users meet.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "odenet/autodiff.hpp"

using namespace odenet;

namespace {
std::vector<double> values(const Var& v) {
    const auto& t = v.value<double>();
    return std::vector<double>(t.data(), t.data() + t.size());
}
std::vector<std::size_t> iota(std::size_t n) {
    std::vector<std::size_t> v(n);
    std::iota(v.begin(), v.end(), std::size_t{0});
    return v;
}
}  // namespace

TEST_CASE("linspace: n values from start to stop, both ends exact") {
    CHECK(values(linspace(0, 1, 5)) == std::vector<double>{0, 0.25, 0.5, 0.75, 1});
    CHECK(values(linspace(1, -1, 3)) == std::vector<double>{1, 0, -1});
    CHECK(values(linspace(2.5, 7, 1)) == std::vector<double>{2.5});  // torch: [start]
    CHECK(linspace(0, 1, 5).shape() == Shape{5});
    // start + 2 h = 0.2 + 2 * 0.35 rounds to 0.8999999999999999; counting back from stop keeps
    // it exact.
    CHECK(values(linspace(0.2, 0.9, 3)) == std::vector<double>{0.2, 0.9 - (0.9 - 0.2) / 2, 0.9});
    const Var f = linspace(-1, 1, 4, Dtype::float32);
    CHECK(f.dtype() == Dtype::float32);
    CHECK(f.value<float>()(3) == 1.0f);
    CHECK_FALSE(linspace(0, 1, 3).requires_grad());
}

TEST_CASE("arange: ceil((stop - start) / step) values, as torch") {
    CHECK(values(arange(0, 5)) == std::vector<double>{0, 1, 2, 3, 4});
    CHECK(values(arange(5)) == std::vector<double>{0, 1, 2, 3, 4});
    CHECK(values(arange(4.5)) == std::vector<double>{0, 1, 2, 3, 4});
    CHECK(values(arange(1, 2, 0.25)) == std::vector<double>{1, 1.25, 1.5, 1.75});
    CHECK(values(arange(5, 0, -2)) == std::vector<double>{5, 3, 1});
    CHECK(arange(0, 1, 0.1).numel() == 10);  // torch.arange(0, 1, 0.1) has 10 entries
    CHECK(arange(0, 1, 0.3).numel() == 4);   // 0, 0.3, 0.6, 0.9
    CHECK(arange(1, 1).shape() == Shape{0});
    CHECK(arange(1, 1, -1).shape() == Shape{0});
    CHECK(arange(0, 3, 1, Dtype::float32).dtype() == Dtype::float32);
}

TEST_CASE("linspace and arange name the argument they reject") {
    CHECK_THROWS_WITH_AS(linspace(0, 1, 0), "linspace: n must be at least 1, got 0", ValueError);
    CHECK_THROWS_WITH_AS(linspace(NAN, 1, 3), doctest::Contains("got start nan and stop 1"), ValueError);
    CHECK_THROWS_WITH_AS(arange(0, 1, 0), "arange: step must be finite and nonzero, got 0", ValueError);
    CHECK_THROWS_WITH_AS(arange(0, 1, NAN), "arange: step must be finite and nonzero, got nan", ValueError);
    CHECK_THROWS_WITH_AS(arange(0, 5, -1),
                         "arange: upper bound and lower bound inconsistent with step sign: start 0, stop 5, step -1",
                         ValueError);
    CHECK_THROWS_AS(arange(5, 0), ValueError);
    CHECK_THROWS_WITH_AS(arange(0, INFINITY), doctest::Contains("stop inf"), ValueError);
    CHECK_THROWS_WITH_AS(arange(0, 1e300, 1e-300), doctest::Contains("too many"), ValueError);
}

TEST_CASE("randperm is a permutation, reproducible from a seed") {
    Generator g1(42), g2(42), g3(43);
    const auto p = randperm(10, g1);
    CHECK(p.size() == 10);
    auto sorted = p;
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == iota(10));
    CHECK(p == randperm(10, g2));
    CHECK(p != randperm(10, g3));  // fixed seeds, so this cannot flake
    CHECK(p != iota(10));
    CHECK(randperm(0, g1).empty());
    CHECK(randperm(1, g1) == std::vector<std::size_t>{0});
}

TEST_CASE("randperm draws every permutation equally often") {
    // 24000 draws of the 24 permutations of 4: each count is Binomial(24000, 1/24), mean 1000,
    // sd 31, so ±200 is 6.4 sd. A biased shuffle lands outside: swapping with any position
    // (j in [0, n)) gives expected counts from 750 to 1406, Sattolo's off-by-one (j in (i, n))
    // only the 6 cyclic permutations.
    Generator gen(7);
    std::map<std::vector<std::size_t>, int> counts;
    for (int i = 0; i < 24000; ++i) ++counts[randperm(4, gen)];
    CHECK(counts.size() == 24);
    for (const auto& [perm, count] : counts) {
        INFO("count ", count);
        CHECK(std::abs(count - 1000) < 200);
    }
}

TEST_CASE("choice draws k indices below n, distinct without replacement") {
    Generator gen(3);
    const auto c = choice(10, 4, false, gen);
    CHECK(c.size() == 4);
    CHECK(std::set<std::size_t>(c.begin(), c.end()).size() == 4);
    CHECK(std::all_of(c.begin(), c.end(), [](std::size_t i) { return i < 10; }));
    Generator a(5), b(5);
    CHECK(choice(8, 8, false, a) == randperm(8, b));  // the same shuffle, documented
    const auto r = choice(3, 50, true, gen);
    CHECK(r.size() == 50);
    CHECK(std::all_of(r.begin(), r.end(), [](std::size_t i) { return i < 3; }));
    CHECK(std::set<std::size_t>(r.begin(), r.end()).size() == 3);  // 50 draws reach all 3 (fixed seed)
    Generator c1(9), c2(9);
    CHECK(choice(100, 5, true, c1) == choice(100, 5, true, c2));
    CHECK(choice(0, 0, false, gen).empty());
    CHECK(choice(0, 0, true, gen).empty());
}

TEST_CASE("choice names k and n when it cannot draw") {
    Generator gen(1);
    CHECK_THROWS_WITH_AS(choice(3, 4, false, gen),
                         "choice: cannot draw k = 4 distinct indices from n = 3 without replacement", ValueError);
    CHECK_THROWS_WITH_AS(choice(0, 1, true, gen), "choice: cannot draw k = 1 indices from n = 0", ValueError);
}
