// The convolution kernels of core/conv2d.hpp, without autodiff: each of the three maps against
// a direct loop reference in long double, for float64 and float32, and the adjoint identities
// that tie them together, over shapes that take every path (same width, implicit im2col, input
// gradient by phases) and batches of one and of several chunks.
//
// Tolerances. Each output entry is a sum of `terms` products (forward: C·kh·kw, input gradient:
// at most O·kh·kw, weight gradient: N·H'·W'), which the kernels add in another order than the
// reference (GEMM blocking, chunks, per-thread partial sums). Summing t terms in any order in
// precision u has error at most about t·u·Σ|term| (Higham, "Accuracy and Stability of Numerical
// Algorithms", 2nd ed., 2002, §4.2), and the long double reference is exact by comparison. So each
// entry is checked to (terms + 2)·ε·Σ|term| (ε = 2u, a factor 2 of margin; +2 for the bias and
// the final rounding), with Σ|term| computed alongside the reference. A wrong index changes an
// entry by O(1)·|term|, 10^5 (float32) to 10^13 (float64) times that bound.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <xtensor/xbuilder.hpp>
#include <xtensor/xmath.hpp>

#include "odenet/core/conv2d.hpp"
#include "odenet/core/error.hpp"
#include "odenet/core/random.hpp"

using namespace odenet;

namespace {

struct Case {
    const char* path;  // which algorithm the geometry selects (see Note [Convolution layout])
    std::size_t n, c, h, w, o, kh, kw, stride, pad;
    Shape input() const { return {n, c, h, w}; }
    Shape weight() const { return {o, c, kh, kw}; }
};

const Case kCases[] = {
    {"same 3x3 pad 1, batch 1", 1, 3, 7, 6, 4, 3, 3, 1, 1},
    {"same 3x3 pad 1, 6x6 maps, 3 chunks of 14, 14, 12", 40, 2, 6, 6, 3, 3, 3, 1, 1},
    {"same 3x3 pad 1, 16x16 maps, 3 chunks of 2, 2, 1", 5, 3, 16, 16, 4, 3, 3, 1, 1},
    {"same 5x5 pad 2", 2, 2, 6, 7, 3, 5, 5, 1, 2},
    {"same 1x1", 3, 5, 4, 5, 6, 1, 1, 1, 0},
    {"implicit 4x4 stride 2 pad 1, batch 1", 1, 3, 9, 8, 4, 4, 4, 2, 1},
    {"implicit 4x4 stride 2 pad 1, batch 5", 5, 3, 13, 13, 4, 4, 4, 2, 1},
    {"implicit 1x1 stride 2", 2, 3, 7, 7, 2, 1, 1, 2, 0},
    {"implicit non-square 3x2 pad 1", 3, 3, 7, 6, 4, 3, 2, 1, 1},
    {"implicit non-square 2x3 stride 3", 1, 2, 9, 8, 2, 2, 3, 3, 0},
    {"implicit 2x2 stride 3 pad 1: kernel smaller than the stride", 2, 2, 8, 7, 3, 2, 2, 3, 1},
    {"implicit 3x2 pad 3: padding wider than the kernel", 2, 1, 5, 4, 2, 3, 2, 1, 3},
    {"implicit fewer taps (9) than output channels (16)", 2, 1, 8, 8, 16, 3, 3, 1, 0},
    {"implicit K = 72 < O = 80, stride 2", 2, 8, 11, 11, 80, 3, 3, 2, 1},
};

// An entry of a reference: the exact value and Σ|term| of its sum.
struct Reference {
    std::vector<long double> value, magnitude;
    void add(std::size_t at, long double term) {
        value[at] += term;
        magnitude[at] += std::fabs(term);
    }
};

// Calls f(n, o, oy, ox, c, i, j, iy, ix) for every term of the convolution: output pixel
// (oy, ox) of sample n, channel o, reading input pixel (iy, ix) of channel c through tap (i, j).
template <class F>
void for_each_term(const Conv2dGeometry& g, F&& f) {
    for (std::size_t n = 0; n < g.n; ++n)
        for (std::size_t o = 0; o < g.o; ++o)
            for (std::size_t oy = 0; oy < g.ho; ++oy)
                for (std::size_t ox = 0; ox < g.wo; ++ox)
                    for (std::size_t c = 0; c < g.c; ++c)
                        for (std::size_t i = 0; i < g.kh; ++i)
                            for (std::size_t j = 0; j < g.kw; ++j) {
                                const long iy = long(oy * g.stride + i) - long(g.pad);
                                const long ix = long(ox * g.stride + j) - long(g.pad);
                                if (iy < 0 || ix < 0 || iy >= long(g.h) || ix >= long(g.w)) continue;
                                f(n, o, oy, ox, c, i, j, std::size_t(iy), std::size_t(ix));
                            }
}

template <class T>
Reference reference_forward(const Conv2dGeometry& g, const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b) {
    Reference r{std::vector<long double>(numel(g.output())), std::vector<long double>(numel(g.output()))};
    for (std::size_t k = 0; k < r.value.size(); ++k) r.add(k, b(k / g.pixels() % g.o));
    for_each_term(g, [&](auto n, auto o, auto oy, auto ox, auto c, auto i, auto j, auto iy, auto ix) {
        r.add(((n * g.o + o) * g.ho + oy) * g.wo + ox, (long double)w(o, c, i, j) * x(n, c, iy, ix));
    });
    return r;
}

template <class T>
Reference reference_input_grad(const Conv2dGeometry& g, const Tensor<T>& gy, const Tensor<T>& w) {
    Reference r{std::vector<long double>(numel(g.input())), std::vector<long double>(numel(g.input()))};
    for_each_term(g, [&](auto n, auto o, auto oy, auto ox, auto c, auto i, auto j, auto iy, auto ix) {
        r.add(((n * g.c + c) * g.h + iy) * g.w + ix, (long double)w(o, c, i, j) * gy(n, o, oy, ox));
    });
    return r;
}

template <class T>
Reference reference_weight_grad(const Conv2dGeometry& g, const Tensor<T>& x, const Tensor<T>& gy) {
    Reference r{std::vector<long double>(numel(g.weight())), std::vector<long double>(numel(g.weight()))};
    for_each_term(g, [&](auto n, auto o, auto oy, auto ox, auto c, auto i, auto j, auto iy, auto ix) {
        r.add(((o * g.c + c) * g.kh + i) * g.kw + j, (long double)gy(n, o, oy, ox) * x(n, c, iy, ix));
    });
    return r;
}

// Every entry within (terms + 2)·ε·Σ|term| of the reference (see the top of the file).
template <class T>
void check_against(const Tensor<T>& got, const Reference& want, std::size_t terms, const char* what) {
    REQUIRE(got.size() == want.value.size());
    const long double eps = std::numeric_limits<T>::epsilon();
    for (std::size_t k = 0; k < got.size(); ++k) {
        const long double err = std::fabs((long double)got.data()[k] - want.value[k]);
        INFO(std::string(what), " entry ", k, ": got ", double(got.data()[k]), ", want ", double(want.value[k]));
        REQUIRE(err <= (terms + 2) * eps * want.magnitude[k]);
    }
}

template <class T>
Tensor<T> random_tensor(const Shape& shape, Generator& gen) {
    return Tensor<T>(xt::cast<T>(randn<double>(shape, gen)));
}

template <class T>
void check_case_against_reference(const Case& cs) {
    INFO(std::string(cs.path), sizeof(T) == 4 ? std::string(" (float32)") : std::string(" (float64)"));
    Generator gen(11);
    const Conv2dGeometry g = conv2d_geometry(cs.input(), cs.weight(), {.stride = cs.stride, .padding = cs.pad});
    const Tensor<T> x = random_tensor<T>(g.input(), gen), w = random_tensor<T>(g.weight(), gen);
    const Tensor<T> b = random_tensor<T>({g.o}, gen), gy = random_tensor<T>(g.output(), gen);
    const Tensor<T> zero_bias = xt::zeros<T>({g.o});
    check_against(conv2d_forward(g, x, w, b.data()), reference_forward(g, x, w, b), g.rows(), "forward");
    check_against(conv2d_forward(g, x, w), reference_forward(g, x, w, zero_bias), g.rows(), "forward without bias");
    check_against(conv2d_input_grad(g, gy, w), reference_input_grad(g, gy, w), g.o * g.kh * g.kw, "input gradient");
    check_against(conv2d_weight_grad(g, x, gy), reference_weight_grad(g, x, gy), g.n * g.pixels(), "weight gradient");
}

double inner(const Tensor<double>& a, const Tensor<double>& b) {
    REQUIRE(a.shape() == b.shape());
    double s = 0;
    for (std::size_t k = 0; k < a.size(); ++k) s += a.data()[k] * b.data()[k];
    return s;
}

}  // namespace

TEST_CASE("conv2d kernels match the direct loops in float64") {
    for (const Case& cs : kCases) check_case_against_reference<double>(cs);
}

TEST_CASE("conv2d kernels match the direct loops in float32") {
    for (const Case& cs : kCases) check_case_against_reference<float>(cs);
}

// ⟨B(x, w), g⟩ = ⟨x, I(g, w)⟩ = ⟨w, W(x, g)⟩ (Note [Convolution as three linear maps] in
// autodiff/src/ops/conv.cpp): three orders of one sum of products w·x·g. Each differs from the
// exact sum by at most (its additions)·u·S, S = Σ|w·x·g| = ⟨B(|x|, |w|), |g|⟩; the additions
// along any path number fewer than the entries of x, w and g together plus the longest inner
// sum, so that times ε·S bounds every pairwise gap.
TEST_CASE("conv2d's two gradients are its adjoints, to float64 rounding") {
    Generator gen(17);
    for (const Case& cs : kCases) {
        INFO(std::string(cs.path));
        const Conv2dGeometry g = conv2d_geometry(cs.input(), cs.weight(), {.stride = cs.stride, .padding = cs.pad});
        const Tensor<double> x = randn<double>(g.input(), gen), w = randn<double>(g.weight(), gen);
        const Tensor<double> gy = randn<double>(g.output(), gen);
        const double forward = inner(conv2d_forward(g, x, w), gy);
        const double via_input = inner(x, conv2d_input_grad(g, gy, w));
        const double via_weight = inner(w, conv2d_weight_grad(g, x, gy));
        const Tensor<double> ax = xt::abs(x), aw = xt::abs(w), ag = xt::abs(gy);
        const double S = inner(conv2d_forward(g, ax, aw), ag);
        const double additions = double(x.size() + w.size() + gy.size() + g.rows() + g.n * g.pixels());
        const double tol = additions * std::numeric_limits<double>::epsilon() * S;
        CHECK(std::abs(forward - via_input) <= tol);
        CHECK(std::abs(forward - via_weight) <= tol);
        CHECK(S > 0);  // the identities are not vacuous
    }
}

TEST_CASE("conv2d kernels with no input channels: the bias alone, zero gradients") {
    const Conv2dGeometry g = conv2d_geometry({2, 0, 4, 4}, {3, 0, 3, 3}, {.stride = 1, .padding = 1});
    const Tensor<double> x = Tensor<double>::from_shape(g.input()), w = Tensor<double>::from_shape(g.weight());
    const Tensor<double> b = {1.0, -2.0, 3.0};
    const Tensor<double> y = conv2d_forward(g, x, w, b.data());
    REQUIRE(y.shape() == g.output());
    for (std::size_t k = 0; k < y.size(); ++k) CHECK(y.data()[k] == b(k / g.pixels() % g.o));
    const Tensor<double> gy = xt::ones<double>(g.output());
    CHECK(conv2d_input_grad(g, gy, w).shape() == g.input());
    const Tensor<double> dw = conv2d_weight_grad(g, x, gy);
    CHECK(dw.shape() == g.weight());
}

TEST_CASE("conv2d_geometry's extents and errors, and the kernels' operand checks") {
    const Conv2dGeometry g = conv2d_geometry({2, 3, 13, 12}, {5, 3, 4, 3}, {.stride = 2, .padding = 1});
    CHECK(g.output() == Shape{2, 5, 6, 6});
    CHECK(g.rows() == 36);
    CHECK(g.pixels() == 36);
    CHECK_THROWS_WITH_AS(conv2d_geometry({2, 3, 5, 5}, {4, 2, 3, 3}, {}, "my_op"), doctest::Contains("my_op"), ShapeError);
    CHECK_THROWS_AS(conv2d_geometry({2, 3, 5}, {4, 3, 3, 3}, {}), ShapeError);
    CHECK_THROWS_AS(conv2d_geometry({2, 3, 5, 5}, {4, 3, 3, 3}, {.stride = 0}), ShapeError);
    CHECK_THROWS_AS(conv2d_geometry({2, 3, 2, 2}, {4, 3, 3, 3}, {}), ShapeError);
    const Tensor<double> x = xt::zeros<double>(g.input()), w = xt::zeros<double>(g.weight());
    const Tensor<double> wrong = xt::zeros<double>({2, 3, 13, 13});
    CHECK_THROWS_WITH_AS(conv2d_forward(g, wrong, w), doctest::Contains("input has shape (2, 3, 13, 13)"), ShapeError);
    CHECK_THROWS_AS(conv2d_forward(g, x, wrong), ShapeError);
    CHECK_THROWS_WITH_AS(conv2d_input_grad(g, wrong, w), doctest::Contains("g has shape"), ShapeError);
    CHECK_THROWS_AS(conv2d_weight_grad(g, x, wrong), ShapeError);
}
