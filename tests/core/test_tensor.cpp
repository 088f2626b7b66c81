// Element counts: numel and empty_tensor refuse shapes whose element count reaches 2^63 or whose
// byte count reaches 2^64 (see Note [Checked element counts] in core/src/tensor.cpp), and every creation
// path in core goes through them.
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <new>

#include "odenet/core/error.hpp"
#include "odenet/core/random.hpp"
#include "odenet/core/shape.hpp"

using namespace odenet;

namespace {
constexpr std::size_t kMax = std::numeric_limits<std::size_t>::max();
constexpr std::size_t k2to32 = std::size_t{1} << 32;
}  // namespace

TEST_CASE("numel: exact below 2^63, ShapeError naming the caller from there on") {
    constexpr std::size_t kLimit = std::numeric_limits<std::ptrdiff_t>::max();  // 2^63 - 1
    CHECK(numel({kLimit}) == kLimit);
    CHECK(numel({k2to32 / 2, k2to32 - 1}) == kLimit + 1 - k2to32 / 2);  // 2^31 (2^32 - 1)
    CHECK_THROWS_WITH_AS(numel({kLimit + 1}), "numel: shape (9223372036854775808) has 2^63 or more elements", ShapeError);
    CHECK_THROWS_WITH_AS(numel({kMax, 2}, "zeros"), "zeros: shape (18446744073709551615, 2) has 2^63 or more elements",
                         ShapeError);
    // (2^32, 2^32) wraps to 0 in plain arithmetic, so it would pass for an empty tensor.
    CHECK_THROWS_WITH_AS(numel({k2to32, k2to32}), "numel: shape (4294967296, 4294967296) has 2^63 or more elements",
                         ShapeError);
    CHECK_THROWS_AS(numel({2, k2to32, k2to32 / 2}), ShapeError);  // exactly 2^64: wraps to 0
    // A 0 extent makes the products before it 0 (xtensor multiplies from the last axis), so the
    // extents before it may be anything; the ones after it must not overflow on the way.
    CHECK(numel({k2to32, k2to32, 0}) == 0);
    CHECK(numel({kMax, kMax, 0, 5}) == 0);
    CHECK_THROWS_WITH_AS(numel({0, k2to32, k2to32}, "zeros"),
                         "zeros: shape (0, 4294967296, 4294967296) has 0 elements but trailing extents whose product "
                         "is 2^63 or more (its strides would overflow)",
                         ShapeError);
}

TEST_CASE_TEMPLATE("empty_tensor checks the element count and the byte count", T, float, double) {
    CHECK(empty_tensor<T>({2, 3}, "t").shape() == Shape{2, 3});
    CHECK(empty_tensor<T>({kMax, 0}, "t").size() == 0);
    CHECK_THROWS_WITH_AS(empty_tensor<T>({kMax, 2}, "zeros"),
                         "zeros: shape (18446744073709551615, 2) has 2^63 or more elements", ShapeError);
    // Below 2^63 elements but not below 2^64 bytes.
    const std::size_t n = kMax / sizeof(T) + 1;
    const std::string dtype = sizeof(T) == 4 ? "float32" : "float64";
    const std::string expected = "ones: shape (" + std::to_string(n) + ") of " + dtype + " needs 2^64 or more bytes";
    CHECK_THROWS_WITH_AS(empty_tensor<T>({n}, "ones"), expected.c_str(), ShapeError);
}

TEST_CASE("the buffer allocator refuses a byte count that wraps (the backstop under xtensor)") {
    // std::allocator's contract: bad_array_new_length when n * sizeof(T) overflows.
    CHECK_THROWS_AS(BufferAllocator<double>().allocate(kMax / 8 + 1), std::bad_array_new_length);
    // SIZE_MAX - 1 doubles is what xtensor asks for (SIZE_MAX, 2): 2 * SIZE_MAX wraps to it.
    CHECK_THROWS_AS(BufferAllocator<double>().allocate(kMax - 1), std::bad_array_new_length);
    // Bytes that fit but round up past SIZE_MAX to the 64-byte alignment.
    CHECK_THROWS_AS(BufferAllocator<char>().allocate(kMax - 10), std::bad_alloc);
}

TEST_CASE("random tensors: an overflowing shape is a ShapeError, not 0 elements") {
    Generator gen(1);
    CHECK_THROWS_WITH_AS(randn<double>({k2to32, k2to32}, gen),
                         "randn: shape (4294967296, 4294967296) has 2^63 or more elements", ShapeError);
    CHECK_THROWS_WITH_AS(uniform<float>({kMax, 2}, 0.0, 1.0, gen),
                         "uniform: shape (18446744073709551615, 2) has 2^63 or more elements", ShapeError);
    CHECK_THROWS_WITH_AS(rademacher<double>({kMax / 4}, gen),
                         "rademacher: shape (4611686018427387903) of float64 needs 2^64 or more bytes", ShapeError);
    CHECK(randn<double>({0, 3}, gen).size() == 0);
}

TEST_CASE("broadcast_shape and sum_to check the size of their result") {
    CHECK_THROWS_WITH_AS(broadcast_shape({k2to32, 1}, {1, k2to32}, "add"),
                         "add: shape (4294967296, 4294967296) has 2^63 or more elements", ShapeError);
    // An empty gradient broadcasts from a shape however large: (2^32, 2^32, 1) to (2^32, 2^32, 0).
    const Tensor<double> g = Tensor<double>::from_shape({k2to32, k2to32, 0});
    CHECK_THROWS_WITH_AS(sum_to(g, {k2to32, k2to32, 1}),
                         "sum_to: shape (4294967296, 4294967296, 1) has 2^63 or more elements", ShapeError);
}
