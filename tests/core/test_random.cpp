#include <doctest/doctest.h>

#include <cmath>

#include <xtensor/xreducer.hpp>

#include "odenet/core/random.hpp"

using namespace odenet;

TEST_CASE("same seed, same numbers; different seed, different numbers") {
    manual_seed(42);
    const Tensor<double> a = randn<double>({100});
    const Tensor<double> u = uniform<double>({10}, -1.0, 1.0);
    manual_seed(42);
    const Tensor<double> b = randn<double>({100});
    const Tensor<double> v = uniform<double>({10}, -1.0, 1.0);
    CHECK(a == b);
    CHECK(u == v);
    manual_seed(43);
    CHECK(randn<double>({100}) != a);
}

TEST_CASE("a known first draw pins the stream across platforms") {
    // mt19937_64 is fully specified by the standard: its 10000th output from the default seed
    // is 9981545732273789042 ([rand.predef]). Our uniform uses its top 53 bits.
    std::mt19937_64 pinned;
    pinned.discard(9999);
    CHECK(pinned() == 9981545732273789042ull);
    Generator gen(5489u);
    std::mt19937_64 reference(5489u);
    for (int i = 0; i < 5; ++i) CHECK(gen.uniform() == static_cast<double>(reference() >> 11) * 0x1.0p-53);
}

TEST_CASE("distribution moments") {
    Generator gen(7);
    const std::size_t n = 200000;
    const Tensor<double> z = randn<double>({n}, gen);
    const double mean = xt::mean(z)();
    const double var = xt::variance(z)();
    // Standard error of the mean is 1/sqrt(n) = 0.0022; 5 sigma bounds keep the test exact-seed
    // independent while still catching a wrong scale or shift.
    CHECK(std::abs(mean) < 5.0 / std::sqrt(double(n)));
    CHECK(std::abs(var - 1.0) < 5.0 * std::sqrt(2.0 / double(n)));

    const Tensor<double> u = uniform<double>({n}, 2.0, 4.0, gen);
    CHECK(xt::amin(u)() >= 2.0);
    CHECK(xt::amax(u)() < 4.0);
    CHECK(std::abs(xt::mean(u)() - 3.0) < 5.0 * std::sqrt(1.0 / 3.0 / double(n)));

    const Tensor<float> r = rademacher<float>({n}, gen);
    for (float x : r) REQUIRE((x == 1.0f || x == -1.0f));
    CHECK(std::abs(xt::mean(r)()) < 5.0 / std::sqrt(double(n)));
}

TEST_CASE("below is unbiased over a small range") {
    Generator gen(3);
    int counts[3] = {0, 0, 0};
    for (int i = 0; i < 30000; ++i) ++counts[gen.below(3)];
    for (int c : counts) CHECK(std::abs(c - 10000) < 500);  // sd = sqrt(30000*(1/3)*(2/3)) = 82
}
