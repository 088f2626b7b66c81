#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "odenet/core/error.hpp"
#include "odenet/util/toy_data.hpp"

using namespace odenet;
using namespace odenet::util;

namespace {

double radius(const Tensor<double>& x, std::size_t i) { return std::hypot(x(i, 0), x(i, 1)); }

// Index of the value in `targets` nearest to v.
std::size_t nearest(double v, const std::vector<double>& targets) {
    std::size_t best = 0;
    for (std::size_t k = 1; k < targets.size(); ++k) {
        if (std::abs(v - targets[k]) < std::abs(v - targets[best])) best = k;
    }
    return best;
}

// Tolerances below are in standard errors: with n = 20000 draws, a fraction p has standard error
// sqrt(p(1-p)/n) ≈ 0.0023 for p = 1/8, so 0.02 is ~8 standard errors (a false failure is
// practically impossible with a fixed seed, and a wrong definition moves these by far more).
constexpr std::size_t kN = 20000;

}  // namespace

TEST_CASE("sample_toy: every dataset gives (n, 2) finite points, for any n") {
    REQUIRE(toy_names().size() == 8);
    Generator gen(1);
    for (const std::string& name : toy_names()) {
        CAPTURE(name);
        for (std::size_t n : {0, 1, 2, 3, 7, 101}) {
            CAPTURE(n);
            const Tensor<double> x = sample_toy(name, n, gen);
            CHECK(x.shape() == Shape{n, 2});
            CHECK(std::all_of(x.begin(), x.end(), [](double v) { return std::isfinite(v); }));
        }
    }
}

TEST_CASE("sample_toy: same seed, same points, and another seed, other points") {
    for (const std::string& name : toy_names()) {
        CAPTURE(name);
        Generator a(7), b(7), c(8);
        const Tensor<double> xa = sample_toy(name, 50, a);
        CHECK(xa == sample_toy(name, 50, b));
        CHECK(xa != sample_toy(name, 50, c));
    }
    manual_seed(3);
    const Tensor<double> first = sample_toy("moons", 10);
    manual_seed(3);
    CHECK(first == sample_toy("moons", 10));
}

TEST_CASE("sample_toy: an unknown name lists the valid ones") {
    Generator gen;
    CHECK_THROWS_WITH_AS(sample_toy("9gaussians", 3, gen),
                         "sample_toy: unknown toy dataset '9gaussians'; valid names: 8gaussians, 2spirals, "
                         "checkerboard, moons, pinwheel, rings, circles, swissroll",
                         ValueError);
    CHECK_THROWS_AS(toy_entropy("nope"), ValueError);
    CHECK_THROWS_AS(toy_log_density("pinwheel", Tensor<double>::from_shape({1, 2})), ValueError);
    CHECK_THROWS_AS(toy_log_density("8gaussians", Tensor<double>::from_shape({3})), ShapeError);
}

TEST_CASE("8gaussians: 8 equally likely clusters of std 0.5/1.414 at radius 4/1.414") {
    Generator gen(11);
    const Tensor<double> x = sample_toy("8gaussians", kN, gen);
    const double r0 = 4.0 / 1.414, sigma = 0.5 / 1.414;
    std::array<std::size_t, 8> counts{};
    double sq_dev = 0.0;
    std::size_t far = 0;
    for (std::size_t i = 0; i < kN; ++i) {
        // The nearest centre by angle: centres sit at multiples of 45 degrees.
        const double angle = std::atan2(x(i, 1), x(i, 0));
        const long k = std::lround(angle / (std::numbers::pi / 4.0));
        const double cx = r0 * std::cos(double(k) * std::numbers::pi / 4.0);
        const double cy = r0 * std::sin(double(k) * std::numbers::pi / 4.0);
        ++counts[static_cast<std::size_t>((k + 8) % 8)];
        const double dx = x(i, 0) - cx, dy = x(i, 1) - cy;
        sq_dev += dx * dx + dy * dy;
        far += std::sqrt(dx * dx + dy * dy) >= 6.0 * sigma;  // P(|N2| > 6σ) = e^{-18} ≈ 1.5e-8
    }
    CHECK(far == 0);
    for (std::size_t c : counts) CHECK(double(c) / kN == doctest::Approx(1.0 / 8).epsilon(0.02 * 8));
    // E|x - c|² = 2σ²; the sample mean has relative standard error 1/sqrt(kN) ≈ 0.7%.
    CHECK(sq_dev / kN == doctest::Approx(2.0 * sigma * sigma).epsilon(0.03));
}

TEST_CASE("8gaussians: Monte Carlo entropy -E[log p] matches the quadrature value 2.8319 nats") {
    Generator gen(12);
    const Tensor<double> x = sample_toy("8gaussians", kN, gen);
    const Tensor<double> logp = toy_log_density("8gaussians", x);
    double h = 0.0;
    for (double l : logp) h -= l;
    h /= double(kN);
    const double exact = *toy_entropy("8gaussians");
    // Independent of the library's midpoint rule over the plane: FFJORD's definition (centres at
    // 4/1.414 on the 8 compass points, σ = 0.5/1.414) written out here, and by symmetry
    // H = −E[log p(c₀ + σz)], z ~ N(0, I), one component's expectation, by the trapezoidal rule in
    // z on [−9, 9]² with step 0.05. For a Gaussian-weighted analytic integrand that rule converges
    // geometrically (its error is below 1e-12 at this step; the mass beyond |z| = 9 is e^{-40}).
    const double sigma = 0.5 / 1.414, r = 4.0 / 1.414;
    auto log_p = [&](double x, double y) {
        double s = 0;
        for (int k = 0; k < 8; ++k) {
            const double a = k * std::numbers::pi / 4, dx = x - r * std::cos(a), dy = y - r * std::sin(a);
            s += std::exp(-(dx * dx + dy * dy) / (2 * sigma * sigma));
        }
        return std::log(s / (8 * 2 * std::numbers::pi * sigma * sigma));
    };
    double quadrature = 0;
    const double dz = 0.05;
    for (int i = -180; i <= 180; ++i)
        for (int j = -180; j <= 180; ++j) {
            const double zx = i * dz, zy = j * dz;
            quadrature -= std::exp(-(zx * zx + zy * zy) / 2) / (2 * std::numbers::pi) * log_p(r + sigma * zx, sigma * zy) * dz * dz;
        }
    CHECK(exact == doctest::Approx(quadrature).epsilon(1e-9));
    // Below the no-overlap value ln 8 + ln(2πeσ²) (each component alone, 8 of them), by the
    // overlap of neighbouring components.
    const double no_overlap = std::log(8.0) + std::log(2 * std::numbers::pi * std::numbers::e * sigma * sigma);
    CHECK(exact < no_overlap - 0.003);
    // Var(log p) = 1 for a 2-D Gaussian, so the standard error is 1/sqrt(kN) ≈ 0.007; allow 3.
    CHECK(h == doctest::Approx(exact).epsilon(0.021 / exact));
}

TEST_CASE("checkerboard: points fill the 8 black squares of side 2 uniformly, entropy ln 32") {
    Generator gen(13);
    const Tensor<double> x = sample_toy("checkerboard", kN, gen);
    const Tensor<double> logp = toy_log_density("checkerboard", x);
    CHECK(std::all_of(logp.begin(), logp.end(), [](double l) { return l == -std::log(32.0); }));
    std::array<std::size_t, 16> counts{};  // 4x4 squares of side 2 over [-4, 4)²
    std::size_t outside = 0;
    for (std::size_t i = 0; i < kN; ++i) {
        const double col = std::floor(x(i, 0) / 2.0) + 2.0, row = std::floor(x(i, 1) / 2.0) + 2.0;
        if (col < 0 || col > 3 || row < 0 || row > 3) {
            ++outside;
            continue;
        }
        ++counts[4 * static_cast<std::size_t>(row) + static_cast<std::size_t>(col)];
    }
    CHECK(outside == 0);
    for (std::size_t s = 0; s < 16; ++s) {
        const bool black = (s / 4 + s % 4) % 2 == 0;
        CHECK(double(counts[s]) / kN == doctest::Approx(black ? 1.0 / 8 : 0.0).epsilon(0.02 * 8));
    }
    // The support's area on a fine grid is 32 (half of [-4, 4]²), so a uniform density is 1/32.
    const Tensor<double> logq = toy_log_density("checkerboard", Tensor<double>{{-3.5, -3.5}, {-3.5, -1.5}, {5.0, 0.0}});
    CHECK(logq(0) == -std::log(32.0));
    CHECK(std::isinf(logq(1)));
    CHECK(std::isinf(logq(2)));
    CHECK(*toy_entropy("checkerboard") == doctest::Approx(3.4657359));
}

TEST_CASE("rings: a quarter of the points on each of the radii 3, 2.25, 1.5, 0.75 with noise 0.08") {
    Generator gen(14);
    const std::size_t n = 4001;  // the innermost ring takes the remainder: 1000, 1000, 1000, 1001
    const Tensor<double> x = sample_toy("rings", n, gen);
    const std::vector<double> radii = {3.0, 2.25, 1.5, 0.75};
    std::array<std::size_t, 4> counts{};
    std::size_t far = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t k = nearest(radius(x, i), radii);
        ++counts[k];
        far += std::abs(radius(x, i) - radii[k]) >= 6 * 0.08;  // rings are 0.75 apart, 9σ
    }
    CHECK(far == 0);
    CHECK(counts == std::array<std::size_t, 4>{1000, 1000, 1000, 1001});
    CHECK(toy_entropy("rings") == std::nullopt);
}

TEST_CASE("circles: radii 3 and 1.5, half each, radial noise 3 x 0.08") {
    Generator gen(15);
    const Tensor<double> x = sample_toy("circles", kN, gen);
    std::array<std::size_t, 2> counts{};
    double sq = 0.0;
    for (std::size_t i = 0; i < kN; ++i) {
        const std::size_t k = nearest(radius(x, i), {3.0, 1.5});
        ++counts[k];
        const double d = radius(x, i) - (k == 0 ? 3.0 : 1.5);
        sq += d * d;
    }
    // Exactly half are drawn on each circle; the noise (0.24) pushes ~0.1% of the inner ones
    // past the midpoint 2.25 (3.1σ), so the nearest-radius count is half within 1%.
    CHECK(double(counts[0]) / kN == doctest::Approx(0.5).epsilon(0.02));
    // Radial deviation ≈ the noise along the radius, std 0.24 (plus an O(σ²/r) bias).
    CHECK(std::sqrt(sq / kN) == doctest::Approx(0.24).epsilon(0.05));
}

TEST_CASE("moons: two arcs of radius 2 about (-1, -0.2) upper and (1, 0.8) lower, noise 0.2") {
    Generator gen(16);
    const Tensor<double> x = sample_toy("moons", kN, gen);
    double sq = 0.0;
    std::size_t upper = 0;
    for (std::size_t i = 0; i < kN; ++i) {
        const double d_out = std::abs(std::hypot(x(i, 0) + 1.0, x(i, 1) + 0.2) - 2.0);
        const double d_in = std::abs(std::hypot(x(i, 0) - 1.0, x(i, 1) - 0.8) - 2.0);
        const double d = std::min(d_out, d_in);
        sq += d * d;
        if (x(i, 1) > 0.3) ++upper;
    }
    // Distance to the nearer circle is at most the noise; its RMS is below 0.2 and well above 0.
    const double rms = std::sqrt(sq / kN);
    CHECK(rms < 0.2);
    CHECK(rms > 0.1);
    CHECK(double(upper) / kN == doctest::Approx(0.5).epsilon(0.1));
}

TEST_CASE("2spirals: the second arm mirrors the first, before noise of std 0.1") {
    Generator gen(17);
    const std::size_t n = 2000;
    const Tensor<double> x = sample_toy("2spirals", n, gen);
    double max_r = 0.0;
    std::size_t unpaired = 0;
    for (std::size_t k = 0; k < n / 2; ++k) {
        // x_k + x_{k+n/2} is the sum of two noises: N(0, 2 x 0.01) per coordinate.
        unpaired += std::hypot(x(k, 0) + x(k + n / 2, 0), x(k, 1) + x(k + n / 2, 1)) >= 6 * 0.1 * std::sqrt(2.0);
        max_r = std::max(max_r, radius(x, k));
    }
    CHECK(unpaired == 0);
    // t ≤ 3π, shifts < 0.5, so r ≤ (3π + 0.5√2)/3 plus noise.
    CHECK(max_r < (3 * std::numbers::pi + 0.5 * std::sqrt(2.0)) / 3.0 + 0.6);
    CHECK(max_r > 2.8);
}

TEST_CASE("pinwheel: five arms, radius 2|f| with f0 ~ N(1, 0.3²)") {
    Generator gen(18);
    const Tensor<double> x = sample_toy("pinwheel", kN, gen);
    double mean_r = 0.0;
    for (std::size_t i = 0; i < kN; ++i) mean_r += radius(x, i) / kN;
    // E sqrt(f0² + f1²) ≈ 1 + 0.1²/2 for f0 ≈ 1: mean radius ≈ 2.01.
    CHECK(mean_r == doctest::Approx(2.01).epsilon(0.02));
    // A point of class k at radius ≈ 2 f0 has angle −(2πk/5 + 0.25 e^{f0}) + O(f1): with f0 near
    // its mean, points concentrate at 5 angles 72 degrees apart.
    std::array<std::size_t, 5> near_arm{};
    std::size_t total = 0;
    for (std::size_t i = 0; i < kN; ++i) {
        const double f0 = radius(x, i) / 2.0;
        if (std::abs(f0 - 1.0) > 0.05) continue;
        const double base = -std::atan2(x(i, 1), x(i, 0)) - 0.25 * std::exp(f0);
        const double k = base / (2 * std::numbers::pi / 5);
        const long arm = std::lround(k);
        // Tangential spread atan(f1/f0) ≈ 0.1 rad = 0.08 arm spacings; 0.25 spacings is ~3σ.
        if (std::abs(k - double(arm)) < 0.25) ++near_arm[static_cast<std::size_t>(((arm % 5) + 5) % 5)];
        ++total;
    }
    std::size_t on_arm = 0;
    for (std::size_t c : near_arm) {
        CHECK(double(c) / double(total) == doctest::Approx(0.2).epsilon(0.15));
        on_arm += c;
    }
    CHECK(double(on_arm) / double(total) > 0.98);
}

TEST_CASE("swissroll: radius t/5 in [0.3π, 0.9π], noise N(0, 0.2²)") {
    Generator gen(19);
    const Tensor<double> x = sample_toy("swissroll", kN, gen);
    std::size_t inside = 0;
    for (std::size_t i = 0; i < kN; ++i) {
        const double r = radius(x, i);
        if (r > 0.3 * std::numbers::pi - 0.6 && r < 0.9 * std::numbers::pi + 0.6) ++inside;  // 3σ band
    }
    CHECK(double(inside) / kN > 0.99);
}
