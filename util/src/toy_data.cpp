#include "odenet/util/toy_data.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numbers>
#include <utility>

#include "odenet/core/error.hpp"

namespace odenet::util {

namespace {

using std::numbers::pi;

// FFJORD divides the 8gaussians data by 1.414 (≈ √2, kept as written so the scale matches).
constexpr double kGaussScale = 4.0, kGaussStd = 0.5, kGaussDivisor = 1.414;

void set_row(Tensor<double>& x, std::size_t i, double a, double b) {
    x(i, 0) = a;
    x(i, 1) = b;
}

// Fisher-Yates over the rows (sklearn's shuffle=True, numpy's permutation).
void shuffle_rows(Tensor<double>& x, Generator& gen) {
    for (std::size_t i = x.shape(0); i > 1; --i) {
        const std::size_t j = gen.below(i);
        std::swap(x(i - 1, 0), x(j, 0));
        std::swap(x(i - 1, 1), x(j, 1));
    }
}

void add_noise(Tensor<double>& x, double std, Generator& gen) {
    for (double& v : x) v += std * gen.normal();
}

std::array<double, 2> gaussian_centre(std::size_t k) {
    const double s = 1.0 / std::sqrt(2.0);
    static const std::array<std::array<double, 2>, 8> unit = {
        {{1, 0}, {-1, 0}, {0, 1}, {0, -1}, {s, s}, {s, -s}, {-s, s}, {-s, -s}}};
    return {kGaussScale * unit[k][0] / kGaussDivisor, kGaussScale * unit[k][1] / kGaussDivisor};
}

// Equal-weight mixture of N(centre_k, σ² I), centres at radius 4/1.414 on the 8 compass points.
Tensor<double> eight_gaussians(std::size_t n, Generator& gen) {
    Tensor<double> x = Tensor<double>::from_shape({n, 2});
    for (std::size_t i = 0; i < n; ++i) {
        const double a = gen.normal(), b = gen.normal();
        const auto c = gaussian_centre(gen.below(8));
        set_row(x, i, c[0] + kGaussStd * a / kGaussDivisor, c[1] + kGaussStd * b / kGaussDivisor);
    }
    return x;
}

// Two arms r(t) = t (−cos t, sin t), t = 3π √u, shifted by U[0, 0.5)², the second arm the
// mirror image (−x) of the first; all / 3, plus N(0, 0.1²) noise.
Tensor<double> two_spirals(std::size_t n, Generator& gen) {
    Tensor<double> x = Tensor<double>::from_shape({n, 2});
    const std::size_t half = (n + 1) / 2;
    for (std::size_t k = 0; k < half; ++k) {
        const double t = std::sqrt(gen.uniform()) * 540.0 * (2.0 * pi) / 360.0;
        const double dx = -std::cos(t) * t + 0.5 * gen.uniform();
        const double dy = std::sin(t) * t + 0.5 * gen.uniform();
        set_row(x, k, dx / 3.0, dy / 3.0);
        if (half + k < n) set_row(x, half + k, -dx / 3.0, -dy / 3.0);
    }
    add_noise(x, 0.1, gen);
    return x;
}

// x1 ~ U[−2, 2); x2 in [0,1) ∪ [−2,−1), shifted up by 1 in odd columns; both × 2. The support
// is 8 squares of side 2 inside [−4, 4]², the black ones: floor(x1/2) + floor(x2/2) even.
Tensor<double> checkerboard(std::size_t n, Generator& gen) {
    Tensor<double> x = Tensor<double>::from_shape({n, 2});
    for (std::size_t i = 0; i < n; ++i) {
        const double x1 = 4.0 * gen.uniform() - 2.0;
        const double x2 = gen.uniform() - 2.0 * static_cast<double>(gen.below(2));
        const long column = static_cast<long>(std::floor(x1));
        const double parity = static_cast<double>(((column % 2) + 2) % 2);  // Python's floor % 2
        set_row(x, i, 2.0 * x1, 2.0 * (x2 + parity));
    }
    return x;
}

// sklearn make_moons(noise = 0.1): ⌊n/2⌋ points on the upper unit semicircle, the rest on the
// lower one centred at (1, 0.5), angles evenly spaced including both ends; shuffled; noise.
// FFJORD then maps x ↦ 2x + (−1, −0.2).
Tensor<double> moons(std::size_t n, Generator& gen) {
    Tensor<double> x = Tensor<double>::from_shape({n, 2});
    const std::size_t n_out = n / 2, n_in = n - n_out;
    auto angle = [](std::size_t k, std::size_t m) { return m > 1 ? pi * double(k) / double(m - 1) : 0.0; };
    for (std::size_t k = 0; k < n_out; ++k) set_row(x, k, std::cos(angle(k, n_out)), std::sin(angle(k, n_out)));
    for (std::size_t k = 0; k < n_in; ++k) {
        set_row(x, n_out + k, 1.0 - std::cos(angle(k, n_in)), 1.0 - std::sin(angle(k, n_in)) - 0.5);
    }
    shuffle_rows(x, gen);
    add_noise(x, 0.1, gen);
    for (std::size_t i = 0; i < n; ++i) set_row(x, i, 2.0 * x(i, 0) - 1.0, 2.0 * x(i, 1) - 0.2);
    return x;
}

// Five arms: features (1 + 0.3 a, 0.1 b), a, b ~ N(0, 1), rotated by −(2πk/5 + 0.25 e^{f0})
// (FFJORD's einsum "ti,tij->tj" with R = [[cos, −sin], [sin, cos]] applies Rᵀ), × 2, shuffled.
Tensor<double> pinwheel(std::size_t n, Generator& gen) {
    constexpr double kRadialStd = 0.3, kTangentialStd = 0.1, kRate = 0.25;
    Tensor<double> x = Tensor<double>::from_shape({n, 2});
    for (std::size_t i = 0; i < n; ++i) {
        const double f0 = 1.0 + kRadialStd * gen.normal();
        const double f1 = kTangentialStd * gen.normal();
        const double angle = 2.0 * pi * double(i % 5) / 5.0 + kRate * std::exp(f0);
        const double c = std::cos(angle), s = std::sin(angle);
        set_row(x, i, 2.0 * (f0 * c + f1 * s), 2.0 * (-f0 * s + f1 * c));
    }
    shuffle_rows(x, gen);
    return x;
}

// Four concentric rings of radii 3, 2.25, 1.5, 0.75 (3 × {1, 0.75, 0.5, 0.25}), ⌊n/4⌋ points
// evenly spaced on each of the outer three and the rest on the inner one; shuffled; N(0, 0.08²).
Tensor<double> rings(std::size_t n, Generator& gen) {
    Tensor<double> x = Tensor<double>::from_shape({n, 2});
    const std::size_t q = n / 4;
    const std::array<std::size_t, 4> counts = {q, q, q, n - 3 * q};
    const std::array<double, 4> radii = {3.0, 2.25, 1.5, 0.75};
    std::size_t row = 0;
    for (std::size_t r = 0; r < 4; ++r) {
        for (std::size_t k = 0; k < counts[r]; ++k, ++row) {
            const double angle = 2.0 * pi * double(k) / double(counts[r]);
            set_row(x, row, radii[r] * std::cos(angle), radii[r] * std::sin(angle));
        }
    }
    shuffle_rows(x, gen);
    add_noise(x, 0.08, gen);
    return x;
}

// sklearn make_circles(factor = 0.5, noise = 0.08): ⌊n/2⌋ points evenly spaced on the unit
// circle (no endpoint), the rest on the circle of radius 0.5; shuffled; noise; FFJORD × 3.
Tensor<double> circles(std::size_t n, Generator& gen) {
    Tensor<double> x = Tensor<double>::from_shape({n, 2});
    const std::size_t n_out = n / 2, n_in = n - n_out;
    for (std::size_t k = 0; k < n_out; ++k) {
        const double angle = 2.0 * pi * double(k) / double(n_out);
        set_row(x, k, std::cos(angle), std::sin(angle));
    }
    for (std::size_t k = 0; k < n_in; ++k) {
        const double angle = 2.0 * pi * double(k) / double(n_in);
        set_row(x, n_out + k, 0.5 * std::cos(angle), 0.5 * std::sin(angle));
    }
    shuffle_rows(x, gen);
    add_noise(x, 0.08, gen);
    x *= 3.0;
    return x;
}

// sklearn make_swiss_roll(noise = 1.0): t = 1.5π(1 + 2u), (t cos t, 21 v, t sin t) + N(0, I);
// FFJORD keeps the first and third coordinates and divides by 5.
Tensor<double> swissroll(std::size_t n, Generator& gen) {
    Tensor<double> x = Tensor<double>::from_shape({n, 2});
    for (std::size_t i = 0; i < n; ++i) {
        const double t = 1.5 * pi * (1.0 + 2.0 * gen.uniform());
        const double a = t * std::cos(t) + gen.normal();
        const double b = t * std::sin(t) + gen.normal();
        set_row(x, i, a / 5.0, b / 5.0);
    }
    return x;
}

using Sampler = Tensor<double> (*)(std::size_t, Generator&);

struct Entry {
    const char* name;
    Sampler sample;
};

constexpr std::array<Entry, 8> kDatasets = {{{"8gaussians", eight_gaussians},
                                             {"2spirals", two_spirals},
                                             {"checkerboard", checkerboard},
                                             {"moons", moons},
                                             {"pinwheel", pinwheel},
                                             {"rings", rings},
                                             {"circles", circles},
                                             {"swissroll", swissroll}}};

const Entry& find(const std::string& name, const char* where) {
    for (const Entry& e : kDatasets) {
        if (name == e.name) return e;
    }
    std::string valid;
    for (const Entry& e : kDatasets) valid += (valid.empty() ? "" : ", ") + std::string(e.name);
    throw ValueError(where, "unknown toy dataset '" + name + "'; valid names: " + valid);
}

double gauss_sigma() { return kGaussStd / kGaussDivisor; }

// -∫ p log p by the midpoint rule on [-7, 7]² (the centres are at radius 2.83 and σ = 0.354,
// so the mass outside is below 1e-40), 700² cells of side 0.02 = σ/17: the integrand is smooth
// at that scale, and halving the cell changes the result by less than 1e-9.
double eight_gaussians_entropy() {
    constexpr std::size_t kCells = 700;
    constexpr double kHalfWidth = 7.0;
    const double step = 2.0 * kHalfWidth / double(kCells);
    Tensor<double> row = Tensor<double>::from_shape({kCells, 2});
    double h = 0.0;
    for (std::size_t i = 0; i < kCells; ++i) {
        for (std::size_t j = 0; j < kCells; ++j) {
            row(j, 0) = -kHalfWidth + (double(j) + 0.5) * step;
            row(j, 1) = -kHalfWidth + (double(i) + 0.5) * step;
        }
        const Tensor<double> logp = toy_log_density("8gaussians", row);
        for (double l : logp) h -= std::exp(l) * l * step * step;
    }
    return h;
}

}  // namespace

const std::vector<std::string>& toy_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> v;
        for (const Entry& e : kDatasets) v.emplace_back(e.name);
        return v;
    }();
    return names;
}

Tensor<double> sample_toy(const std::string& name, std::size_t n, Generator& gen) {
    return find(name, "sample_toy").sample(n, gen);
}

Tensor<double> toy_log_density(const std::string& name, const Tensor<double>& points) {
    const char* where = "toy_log_density";
    find(name, where);
    if (points.dimension() != 2 || points.shape(1) != 2) {
        throw ShapeError(where, "points must have shape (n, 2), got " + shape_str(points.shape()));
    }
    const std::size_t n = points.shape(0);
    Tensor<double> out = Tensor<double>::from_shape({n});
    if (name == "checkerboard") {
        for (std::size_t i = 0; i < n; ++i) {
            const double a = points(i, 0), b = points(i, 1);
            const bool inside = a >= -4.0 && a < 4.0 && b >= -4.0 && b < 4.0 &&
                                (static_cast<long>(std::floor(a / 2.0)) + static_cast<long>(std::floor(b / 2.0))) % 2 == 0;
            out(i) = inside ? -std::log(32.0) : -std::numeric_limits<double>::infinity();
        }
        return out;
    }
    if (name != "8gaussians") throw ValueError(where, "'" + name + "' has no closed-form density");
    // log Σ_k (1/8) N(x; c_k, σ² I), by log-sum-exp over the 8 components.
    const double var = gauss_sigma() * gauss_sigma();
    for (std::size_t i = 0; i < n; ++i) {
        std::array<double, 8> logs{};
        double top = -std::numeric_limits<double>::infinity();
        for (std::size_t k = 0; k < 8; ++k) {
            const auto c = gaussian_centre(k);
            const double dx = points(i, 0) - c[0], dy = points(i, 1) - c[1];
            logs[k] = -(dx * dx + dy * dy) / (2.0 * var) - std::log(2.0 * pi * var) - std::log(8.0);
            top = std::max(top, logs[k]);
        }
        double sum = 0.0;
        for (double l : logs) sum += std::exp(l - top);
        out(i) = top + std::log(sum);
    }
    return out;
}

std::optional<double> toy_entropy(const std::string& name) {
    find(name, "toy_entropy");
    if (name == "checkerboard") return std::log(32.0);
    if (name == "8gaussians") {
        static const double h = eight_gaussians_entropy();
        return h;
    }
    return std::nullopt;
}

}  // namespace odenet::util
