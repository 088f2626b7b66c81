// conv2d against a direct seven-loop reference, the adjoint identities that tie conv2d to its
// two gradient ops (over several batch chunks), and the errors for shapes that do not fit.
// Derivatives themselves are checked by the registry rows in op_registry.cpp.
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <thread>

#include "odenet/autodiff.hpp"
#include "odenet/core/parallel.hpp"
#include "odenet/core/random.hpp"

using namespace odenet;

namespace {

// y[n, o, oy, ox] = b[o] + Σ_{c, i, j} w[o, c, i, j] x[n, c, oy·s + i - p, ox·s + j - p].
Tensor<double> reference_conv(const Tensor<double>& x, const Tensor<double>& w, const Tensor<double>* b,
                              std::size_t s, std::size_t p) {
    const auto& xs = x.shape();
    const auto& ws = w.shape();
    const std::size_t ho = (xs[2] + 2 * p - ws[2]) / s + 1, wo = (xs[3] + 2 * p - ws[3]) / s + 1;
    Tensor<double> y = Tensor<double>::from_shape({xs[0], ws[0], ho, wo});
    for (std::size_t n = 0; n < xs[0]; ++n)
        for (std::size_t o = 0; o < ws[0]; ++o)
            for (std::size_t oy = 0; oy < ho; ++oy)
                for (std::size_t ox = 0; ox < wo; ++ox) {
                    double acc = b ? (*b)(o) : 0.0;
                    for (std::size_t c = 0; c < xs[1]; ++c)
                        for (std::size_t i = 0; i < ws[2]; ++i)
                            for (std::size_t j = 0; j < ws[3]; ++j) {
                                const long iy = long(oy * s + i) - long(p), ix = long(ox * s + j) - long(p);
                                if (iy < 0 || ix < 0 || iy >= long(xs[2]) || ix >= long(xs[3])) continue;
                                acc += w(o, c, i, j) * x(n, c, std::size_t(iy), std::size_t(ix));
                            }
                    y(n, o, oy, ox) = acc;
                }
    return y;
}

double max_abs_diff(const Tensor<double>& a, const Tensor<double>& b) {
    REQUIRE(a.shape() == b.shape());
    double m = 0;
    for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a.data()[i] - b.data()[i]));
    return m;
}

double inner(const Var& a, const Var& b) { return sum(a * b).item(); }

}  // namespace

TEST_CASE("conv2d matches the direct loops for stride 1/2 and padding 0/1") {
    Generator gen(3);
    // Odd, non-square sizes and a non-square kernel, so a swapped axis or an off-by-one shows.
    // A 3x3 kernel with padding 1 takes the same-width path (core/src/conv2d_same.cpp); 3x2 never does.
    const Tensor<double> x = randn<double>({3, 3, 7, 6}, gen);
    const Tensor<double> b = randn<double>({4}, gen);
    for (std::size_t kw : {2, 3})
    for (std::size_t stride : {1, 2}) {
        for (std::size_t padding : {0, 1}) {
            const Tensor<double> w = randn<double>({4, 3, 3, kw}, gen);
            CAPTURE(kw);
            CAPTURE(stride);
            CAPTURE(padding);
            const Var y = conv2d(Var(x), Var(w), Var(b), {.stride = stride, .padding = padding});
            // Summation order differs from the loops' (BLAS blocking): rounding of ~20 terms of O(1).
            CHECK(max_abs_diff(y.value<double>(), reference_conv(x, w, &b, stride, padding)) < 1e-12);
            const Var y0 = conv2d(Var(x), Var(w), Var(), {.stride = stride, .padding = padding});
            CHECK(max_abs_diff(y0.value<double>(), reference_conv(x, w, nullptr, stride, padding)) < 1e-12);
        }
    }
}

TEST_CASE("conv2d's general path: strides 2 and 3, kernels smaller than the stride, wide padding") {
    // The general (not same-width) path, Note [Implicit im2col]: strides above 2, kernels smaller than the
    // stride (pixels no tap reads), pixels past the last tap's reach, padding wider than the kernel.
    Generator gen(5);
    for (const auto& [x_shape, w_shape, stride, padding] :
         {std::tuple{Shape{2, 3, 11, 9}, Shape{2, 3, 4, 4}, std::size_t{2}, std::size_t{1}},
          std::tuple{Shape{2, 2, 10, 8}, Shape{3, 2, 5, 2}, std::size_t{3}, std::size_t{2}},
          std::tuple{Shape{3, 2, 7, 7}, Shape{2, 2, 1, 1}, std::size_t{2}, std::size_t{0}},
          std::tuple{Shape{1, 2, 9, 8}, Shape{2, 2, 2, 3}, std::size_t{3}, std::size_t{0}},
          std::tuple{Shape{2, 1, 5, 4}, Shape{2, 1, 3, 2}, std::size_t{1}, std::size_t{3}},
          // Fewer taps than output channels (forward and weight gradient computed transposed),
          // with output planes wider than a panel (100, 81 and 25 pixels), and K = 36 taps, a
          // full panel of float64 columns of dw (the vector stores).
          std::tuple{Shape{3, 1, 11, 11}, Shape{7, 1, 2, 2}, std::size_t{1}, std::size_t{0}},
          std::tuple{Shape{3, 1, 16, 16}, Shape{9, 1, 2, 2}, std::size_t{2}, std::size_t{1}},
          std::tuple{Shape{2, 4, 9, 9}, Shape{48, 4, 3, 3}, std::size_t{2}, std::size_t{1}}}) {
        INFO(shape_str(x_shape), " * ", shape_str(w_shape), " stride ", stride, " padding ", padding);
        const Tensor<double> x = randn<double>(x_shape, gen), w = randn<double>(w_shape, gen);
        const Tensor<double> b = randn<double>({w_shape[0]}, gen);
        const Conv2dOptions opt{.stride = stride, .padding = padding};
        const Var y = conv2d(Var(x), Var(w), Var(), opt);
        CHECK(max_abs_diff(y.value<double>(), reference_conv(x, w, nullptr, stride, padding)) < 1e-12);
        CHECK(max_abs_diff(conv2d(Var(x), Var(w), Var(b), opt).value<double>(), reference_conv(x, w, &b, stride, padding)) < 1e-12);
        // The input gradient (by phases) and the weight gradient against the forward:
        // <I(g, w), x> = <g, B(x, w)> = <W(x, g), w>.
        const Var g(randn<double>(y.shape(), gen));
        const double forward = inner(g, y);
        CHECK(inner(conv2d_input_grad(g, Var(w), x_shape, opt), Var(x)) == doctest::Approx(forward).epsilon(1e-12));
        CHECK(inner(conv2d_weight_grad(Var(x), g, w_shape, opt), Var(w)) == doctest::Approx(forward).epsilon(1e-12));
    }
}

TEST_CASE("conv2d's general path in float32: forward, both gradients, more and fewer taps than channels") {
    // The float32 kernels have other block sizes (16 lanes) than the float64 ones; checked
    // against the float64 results of the same numbers. K = 72 < O = 80 fills float32 panels.
    Generator gen(13);
    for (const auto& [x_shape, w_shape] : {std::pair{Shape{3, 6, 13, 13}, Shape{5, 6, 4, 4}},
                                           std::pair{Shape{2, 8, 11, 11}, Shape{80, 8, 3, 3}}}) {
        INFO(shape_str(x_shape), " * ", shape_str(w_shape));
        const Conv2dOptions opt{.stride = 2, .padding = 1};
        const Var x(randn<double>(x_shape, gen)), w(randn<double>(w_shape, gen));
        const Var y = conv2d(x, w, Var(), opt);
        const Var g(randn<double>(y.shape(), gen));
        const Var x32 = to_dtype(x, Dtype::float32), w32 = to_dtype(w, Dtype::float32), g32 = to_dtype(g, Dtype::float32);
        auto gap = [](const Var& single, const Var& twice) {
            return max_abs_diff(to_dtype(single, Dtype::float64).value<double>(), twice.value<double>());
        };
        // Sums of up to 288 products of O(1) numbers: float32 rounding ~ 1e-4 at most.
        CHECK(gap(conv2d(x32, w32, Var(), opt), y) < 1e-3);
        CHECK(gap(conv2d_input_grad(g32, w32, x_shape, opt), conv2d_input_grad(g, w, x_shape, opt)) < 1e-3);
        CHECK(gap(conv2d_weight_grad(x32, g32, w_shape, opt), conv2d_weight_grad(x, g, w_shape, opt)) < 1e-3);
    }
}

TEST_CASE("conv2d and its gradients of an empty batch") {
    for (const auto& [h, k, stride] : {std::tuple{std::size_t{6}, std::size_t{3}, std::size_t{1}},
                                       std::tuple{std::size_t{13}, std::size_t{4}, std::size_t{2}}}) {
        const Conv2dOptions opt{.stride = stride, .padding = 1};
        const Var x(Tensor<double>(xt::zeros<double>({std::size_t{0}, std::size_t{3}, h, h})));
        const Var w(Tensor<double>(xt::ones<double>({std::size_t{4}, std::size_t{3}, k, k})));
        const Var y = conv2d(x, w, Var(), opt);
        CHECK(y.shape()[0] == 0);
        CHECK(conv2d_input_grad(y, w, x.shape(), opt).shape() == x.shape());
        const Var dw = conv2d_weight_grad(x, y, w.shape(), opt);
        CHECK(dw.shape() == w.shape());
        CHECK(max_abs_diff(dw.value<double>(), Tensor<double>(xt::zeros<double>(w.shape()))) == 0.0);
    }
}

TEST_CASE("conv2d's same-width path at its edges: padding 2, a one-row map, padding >= width (not taken)") {
    Generator gen(4);
    for (const auto& [x_shape, w_shape, padding] :
         {std::tuple{Shape{2, 2, 4, 3}, Shape{3, 2, 5, 5}, std::size_t{2}}, std::tuple{Shape{1, 2, 3, 1}, Shape{2, 2, 3, 3}, std::size_t{1}},
          std::tuple{Shape{1, 1, 1, 3}, Shape{1, 1, 3, 5}, std::size_t{2}}}) {
        INFO(shape_str(x_shape));
        const Tensor<double> x = randn<double>(x_shape, gen), w = randn<double>(w_shape, gen);
        const Var y = conv2d(Var(x), Var(w), Var(), {.padding = padding});
        CHECK(max_abs_diff(y.value<double>(), reference_conv(x, w, nullptr, 1, padding)) < 1e-12);
        // The adjoint identity checks the input gradient on the same geometry (col2im, or the
        // phases when padding >= width sends the convolution down the general path).
        const Var g(randn<double>(y.shape(), gen));
        const double forward = inner(g, y);
        CHECK(inner(conv2d_input_grad(g, Var(w), x_shape, {.padding = padding}), Var(x)) ==
              doctest::Approx(forward).epsilon(1e-12));
    }
}

TEST_CASE("conv2d's same-width path keeps an infinite pixel out of the outputs that only pad next to it") {
    // The path reads shifted runs: output (0, 4)'s tap (2, 2) falls on padding right of the
    // image, and in the flattened plane on pixel (2, 0). It must be masked out (selected away),
    // not multiplied by 0, which would turn the infinity into a NaN.
    Tensor<double> x = xt::zeros<double>({1, 1, 5, 5});
    x(0, 0, 2, 0) = std::numeric_limits<double>::infinity();
    const Tensor<double> w = xt::ones<double>({1, 1, 3, 3});
    const Var y = conv2d(Var(x), Var(w), Var(), {.padding = 1});
    CHECK(y.value<double>()(0, 0, 0, 4) == 0.0);
    CHECK(std::isinf(y.value<double>()(0, 0, 1, 0)));  // reads the pixel: infinite, as it should be
    const Var gx = conv2d_input_grad(Var(Tensor<double>(xt::ones<double>({1, 1, 5, 5}))), Var(w), x.shape(), {.padding = 1});
    CHECK(gx.value<double>()(0, 0, 2, 2) == 9.0);  // an interior pixel feeds nine outputs
    CHECK(gx.value<double>()(0, 0, 0, 0) == 4.0);  // a corner feeds four
}

TEST_CASE("conv2d at the MNIST ODE-Net's downsampling shape (4x4 kernel, stride 2, padding 1), float32") {
    Generator gen(5);
    const Tensor<double> x = randn<double>({2, 4, 13, 13}, gen);
    const Tensor<double> w = randn<double>({5, 4, 4, 4}, gen);
    const Tensor<double> expected = reference_conv(x, w, nullptr, 2, 1);
    const Var y = conv2d(to_dtype(Var(x), Dtype::float32), to_dtype(Var(w), Dtype::float32), Var(), {.stride = 2, .padding = 1});
    REQUIRE(y.shape() == Shape{2, 5, 6, 6});
    // float32 rounding of 64-term sums of O(1) products: about 64 · 6e-8 · O(8).
    CHECK(max_abs_diff(to_dtype(y, Dtype::float64).value<double>(), expected) < 1e-4);
}

TEST_CASE("conv2d's gradient ops are its adjoints, across several batch chunks") {
    // 15x15 outputs (225 pixels) make chunks of 2 samples, so at stride 1 (the same-width path)
    // 5 samples take 3 chunks, the last one partial; stride 2 takes the general path.
    // ⟨I(g, w), x⟩ = ⟨g, B(x, w)⟩ = ⟨W(x, g), w⟩ for any x, w, g.
    Generator gen(9);
    for (std::size_t stride : {1, 2}) {
        CAPTURE(stride);
        const std::size_t h = stride == 1 ? 15 : 29;
        const Var x(randn<double>({5, 2, h, h}, gen));
        const Var w(randn<double>({3, 2, 3, 3}, gen));
        const Conv2dOptions opt{.stride = stride, .padding = 1};
        const Var y = conv2d(x, w, Var(), opt);
        REQUIRE(y.shape() == Shape{5, 3, 15, 15});
        const Var g(randn<double>(y.shape(), gen));
        const double forward = inner(g, y);
        CHECK(inner(conv2d_input_grad(g, w, x.shape(), opt), x) == doctest::Approx(forward).epsilon(1e-12));
        CHECK(inner(conv2d_weight_grad(x, g, w.shape(), opt), w) == doctest::Approx(forward).epsilon(1e-12));
        // And against the reference, so a chunking bug common to all three cannot hide.
        CHECK(max_abs_diff(y.value<double>(), reference_conv(x.value<double>(), w.value<double>(), nullptr, stride, 1)) < 1e-12);
    }
}

TEST_CASE("conv2d and its gradients agree on one and two threads") {
    // Chunks (same-width path) or images (general path) are split over threads and the weight
    // gradient is summed from per-thread parts: the same numbers up to the order of that last
    // sum. 6x6 maps (the same-width path) and a strided 4x4 kernel (the general path), 40
    // samples = several chunks per thread.
    const int before = num_threads();
    Generator gen(11);
    for (const auto& [h, k, stride] : {std::tuple{std::size_t{6}, std::size_t{3}, std::size_t{1}},
                                       std::tuple{std::size_t{13}, std::size_t{4}, std::size_t{2}}}) {
        const Var x(randn<double>({40, 3, h, h}, gen)), w(randn<double>({4, 3, k, k}, gen));
        const Conv2dOptions opt{.stride = stride, .padding = 1};
        std::vector<Tensor<double>> results[2];
        for (int threads : {1, 2}) {
            set_num_threads(threads);
            const Var y = conv2d(x, w, Var(), opt);
            const Var g(Tensor<double>(xt::ones<double>(y.shape())));
            results[threads - 1] = {y.value<double>(), conv2d_input_grad(g, w, x.shape(), opt).value<double>(),
                                    conv2d_weight_grad(x, g, w.shape(), opt).value<double>()};
        }
        CHECK(results[0][0] == results[1][0]);
        CHECK(results[0][1] == results[1][1]);
        CHECK(max_abs_diff(results[0][2], results[1][2]) < 1e-10);
    }
    set_num_threads(before);
}

TEST_CASE("conv2d's weight gradient is right when two threads compete for the pool") {
    // The second caller finds the pool busy and runs all its parts inline. Both paths.
    const int before = num_threads();
    set_num_threads(2);
    Generator gen(12);
    for (const auto& [h, k, stride] : {std::tuple{std::size_t{6}, std::size_t{3}, std::size_t{1}},
                                       std::tuple{std::size_t{13}, std::size_t{4}, std::size_t{2}}}) {
        const Var x(randn<double>({40, 3, h, h}, gen)), w(randn<double>({4, 3, k, k}, gen));
        const Conv2dOptions opt{.stride = stride, .padding = 1};
        const Var g(randn<double>(conv2d(x, w, Var(), opt).shape(), gen));
        const Tensor<double> expected = conv2d_weight_grad(x, g, w.shape(), opt).value<double>();
        std::atomic<int> wrong{0};
        auto work = [&] {
            for (int i = 0; i < 20; ++i)
                if (max_abs_diff(conv2d_weight_grad(x, g, w.shape(), opt).value<double>(), expected) > 1e-10) ++wrong;
        };
        std::thread a(work), b(work);
        a.join();
        b.join();
        CHECK(wrong == 0);
    }
    set_num_threads(before);
}

TEST_CASE("conv2d's backward gives the gradients the loops imply") {
    // d/db of Σ y is the number of output pixels per channel times N; d/dx of Σ y at an
    // interior pixel of a stride-1, padding-1 3x3 conv is Σ_o Σ_{i,j} w[o, c, i, j].
    Var x(randn<double>({2, 2, 5, 5}), true);
    Var w(randn<double>({3, 2, 3, 3}), true);
    Var b = zeros({3}, Dtype::float64, true);
    backward(sum(conv2d(x, w, b, {.stride = 1, .padding = 1})));
    for (std::size_t o = 0; o < 3; ++o) CHECK(b.grad().value<double>()(o) == doctest::Approx(2 * 25));
    for (std::size_t c = 0; c < 2; ++c) {
        double total = 0;
        for (std::size_t o = 0; o < 3; ++o)
            for (std::size_t i = 0; i < 3; ++i)
                for (std::size_t j = 0; j < 3; ++j) total += w.value<double>()(o, c, i, j);
        CHECK(x.grad().value<double>()(1, c, 2, 2) == doctest::Approx(total));
    }
}

TEST_CASE("conv2d errors name the shapes") {
    const Var x = zeros({2, 3, 5, 5});
    SUBCASE("channel mismatch") {
        CHECK_THROWS_WITH_AS(conv2d(x, zeros({4, 2, 3, 3}), Var()),
                             doctest::Contains("input (2, 3, 5, 5) has 3 channels but weight (4, 2, 3, 3) expects 2"),
                             ShapeError);
    }
    SUBCASE("kernel larger than the padded input") {
        CHECK_THROWS_WITH_AS(conv2d(x, zeros({4, 3, 8, 8}), Var(), {.padding = 1}),
                             doctest::Contains("kernel (4, 3, 8, 8) does not fit input (2, 3, 5, 5)"), ShapeError);
    }
    SUBCASE("wrong rank") { CHECK_THROWS_AS(conv2d(zeros({3, 5, 5}), zeros({4, 3, 3, 3}), Var()), ShapeError); }
    SUBCASE("bias of the wrong length") {
        CHECK_THROWS_WITH_AS(conv2d(x, zeros({4, 3, 3, 3}), zeros({3})), doctest::Contains("bias has shape (3)"), ShapeError);
    }
    SUBCASE("stride 0") { CHECK_THROWS_AS(conv2d(x, zeros({4, 3, 3, 3}), Var(), {.stride = 0}), ShapeError); }
    SUBCASE("mixed dtypes") { CHECK_THROWS_AS(conv2d(x, zeros({4, 3, 3, 3}, Dtype::float32), Var()), DtypeError); }
    SUBCASE("gradient of the wrong shape") {
        CHECK_THROWS_WITH_AS(conv2d_input_grad(zeros({2, 4, 4, 4}), zeros({4, 3, 3, 3}), x.shape()),
                             doctest::Contains("gives (2, 4, 3, 3)"), ShapeError);
    }
}
