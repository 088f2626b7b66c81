// Every op that takes a shape or a size from its caller refuses one whose element count does not
// fit (see numel in core/tensor.hpp), with a ShapeError naming the op and the shape (see Note [Checked element
// counts] in core/src/tensor.cpp). Before, zeros({SIZE_MAX, 2}) wrote past a 64-byte block and
// crashed, and randn({2^32, 2^32}) returned a tensor with no elements.
#include <doctest/doctest.h>

#include <limits>

#include "odenet/autodiff.hpp"

using namespace odenet;

namespace {
constexpr std::size_t kMax = std::numeric_limits<std::size_t>::max();
constexpr std::size_t k2to32 = std::size_t{1} << 32;
}  // namespace

TEST_CASE("creation ops name themselves and the shape") {
    CHECK_THROWS_WITH_AS(zeros({kMax, 2}), "zeros: shape (18446744073709551615, 2) has 2^63 or more elements",
                         ShapeError);
    CHECK_THROWS_WITH_AS(ones({k2to32, k2to32}, Dtype::float32),
                         "ones: shape (4294967296, 4294967296) has 2^63 or more elements", ShapeError);
    CHECK_THROWS_WITH_AS(full({3, kMax}, 1.5), "full: shape (3, 18446744073709551615) has 2^63 or more elements",
                         ShapeError);
    CHECK_THROWS_WITH_AS(zeros({kMax / 8 + 1}), "zeros: shape (2305843009213693952) of float64 needs 2^64 or more bytes",
                         ShapeError);
    CHECK_THROWS_WITH_AS(randn({k2to32, k2to32}), "randn: shape (4294967296, 4294967296) has 2^63 or more elements",
                         ShapeError);
    CHECK_THROWS_WITH_AS(linspace(0.0, 1.0, kMax / 4), "linspace: shape (4611686018427387903) of float64 needs 2^64 or more bytes",
                         ShapeError);
    // Zero-size shapes stay valid, however large the other extents.
    CHECK(zeros({kMax, 0}).numel() == 0);
    CHECK(randn({k2to32, 0}).numel() == 0);
}

TEST_CASE("reshape, broadcast_to and index_add check the shape they are given") {
    const Var empty = zeros({0});
    // (2^32, 2^32) has 0 elements in wrapped arithmetic, so it matched the empty tensor.
    CHECK_THROWS_WITH_AS(reshape(empty, {k2to32, k2to32}),
                         "reshape: shape (4294967296, 4294967296) has 2^63 or more elements", ShapeError);
    CHECK_THROWS_WITH_AS(broadcast_to(ones({1, 1}), {k2to32, k2to32}),
                         "broadcast_to: shape (4294967296, 4294967296) has 2^63 or more elements", ShapeError);
    CHECK_THROWS_WITH_AS(index_add(ones({2, 3}), 0, {0, 1}, kMax / 2),
                         "index_add: shape (9223372036854775807, 3) has 2^63 or more elements", ShapeError);
}

TEST_CASE("conv2d: a padding that would wrap the padded extents") {
    const Var x = ones({1, 1, 3, 3}), w = ones({1, 1, 3, 3}), b = zeros({1});
    CHECK_THROWS_WITH_AS(conv2d(x, w, b, {.stride = 1, .padding = kMax / 2}),
                         "conv2d: padding 9223372036854775807 is too large for input (1, 1, 3, 3)", ShapeError);
    // Padded extents of about 2^32 each: the padded input (and the output) would have 2^64.
    CHECK_THROWS_WITH_AS(conv2d(x, w, b, {.stride = 1, .padding = k2to32 / 2}),
                         doctest::Contains("has 2^63 or more elements"), ShapeError);
}
