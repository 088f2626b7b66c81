// torch.nn.init's normal_, xavier_*, kaiming_normal_ and orthogonal_: bounds and moments against
// their formulas on large tensors (tolerances from the sampling error), orthogonality to
// rounding, and the errors for tensors without fans.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "odenet/nn.hpp"

using namespace odenet;
namespace init = odenet::nn::init;

namespace {
struct Moments {
    double mean, std, max_abs;
};

Moments moments(const Var& v) {
    const Tensor<double> x = v.dtype() == Dtype::float32 ? Tensor<double>(xt::cast<double>(v.value<float>()))
                                                         : v.value<double>();
    const double n = static_cast<double>(x.size());
    const double mean = xt::sum(x)() / n;
    const double var = xt::sum(xt::square(x - mean))() / (n - 1);
    return {mean, std::sqrt(var), xt::amax(xt::abs(x))()};
}

// Sampling error of n independent draws from a distribution of standard deviation σ and
// kurtosis κ: the mean's is σ / sqrt(n), the sample standard deviation's is about
// σ sqrt((κ - 1) / (4 n)) (κ = 3 normal, 9/5 uniform). The checks allow 5 of them, so a correct
// formula fails by chance with probability below 1e-6, while a wrong factor (sqrt 2 for 6 vs 3,
// fan_in for fan_in + fan_out) misses by hundreds of them.
constexpr double kSigmas = 5.0;

// a b for 2-D a (m x k) and b (k x n); t(a) is aᵀ.
Tensor<double> mm(const Tensor<double>& a, const Tensor<double>& b) {
    Tensor<double> c = xt::zeros<double>({a.shape(0), b.shape(1)});
    for (std::size_t i = 0; i < a.shape(0); ++i)
        for (std::size_t l = 0; l < a.shape(1); ++l)
            for (std::size_t j = 0; j < b.shape(1); ++j) c(i, j) += a(i, l) * b(l, j);
    return c;
}
Tensor<double> t(const Tensor<double>& a) { return xt::transpose(a); }

// v's values as a rows x cols float64 matrix.
Tensor<double> as_matrix(const Var& v, std::size_t rows, std::size_t cols) {
    Tensor<double> m = Tensor<double>::from_shape({rows, cols});
    if (v.dtype() == Dtype::float32) {
        std::copy(v.value<float>().begin(), v.value<float>().end(), m.begin());
    } else {
        std::copy(v.value<double>().begin(), v.value<double>().end(), m.begin());
    }
    return m;
}
double std_tolerance(double sigma, double n, double kurtosis) {
    return kSigmas * sigma * std::sqrt((kurtosis - 1) / (4 * n));
}
}  // namespace

TEST_CASE("init: fan_in and fan_out of (out, in, k...)") {
    CHECK(init::fan_in({8, 3, 4, 4}) == 48);
    CHECK(init::fan_out({8, 3, 4, 4}) == 128);
    CHECK(init::fan_out({5, 2}) == 5);
    CHECK_THROWS_WITH_AS(init::fan_out({5}), "init::fan_out: needs a tensor of rank >= 2, got shape (5)", ValueError);
}

TEST_CASE("init: normal_ has the mean and std asked for, in either dtype") {
    const double n = 400 * 1000, mean = 1.5, std = 2.0;
    for (Dtype dtype : {Dtype::float64, Dtype::float32}) {
        Var v = zeros({400, 1000}, dtype, true);
        init::normal_(v, mean, std);
        CHECK(v.dtype() == dtype);
        const Moments m = moments(v);
        CHECK(std::abs(m.mean - mean) <= kSigmas * std / std::sqrt(n));
        CHECK(std::abs(m.std - std) <= std_tolerance(std, n, 3.0));
    }
    manual_seed(3);
    Var a = zeros({10}, Dtype::float64, true), b = zeros({10}, Dtype::float64, true);
    init::normal_(a);
    manual_seed(3);
    init::normal_(b);
    CHECK(a.value<double>() == b.value<double>());
    CHECK_THROWS_WITH_AS(init::normal_(a, 0.0, -1.0), "init::normal_: std must be finite and >= 0, got -1", ValueError);
}

TEST_CASE("init: xavier_uniform_ stays within gain sqrt(6 / (fan_in + fan_out)) with the uniform's std") {
    // (300, 200, 3, 3): fan_in = 1800, fan_out = 2700.
    const Shape shape{300, 200, 3, 3};
    const double n = 300 * 200 * 9;
    for (double gain : {1.0, 2.5}) {
        Var v = zeros(shape, Dtype::float64, true);
        init::xavier_uniform_(v, gain);
        const double bound = gain * std::sqrt(6.0 / (1800 + 2700));
        const Moments m = moments(v);
        CHECK(m.max_abs <= bound);
        // The largest of n draws falls short of the bound by more than 1e-4 with probability
        // (1 - 1e-4)^n = e^-54.
        CHECK(m.max_abs >= (1 - 1e-4) * bound);
        const double sigma = bound / std::sqrt(3.0);
        CHECK(std::abs(m.mean) <= kSigmas * sigma / std::sqrt(n));
        CHECK(std::abs(m.std - sigma) <= std_tolerance(sigma, n, 1.8));
    }
}

TEST_CASE("init: xavier_normal_ and kaiming_normal_ have the std of their formulas") {
    const Shape shape{300, 200, 3, 3};
    const double n = 300 * 200 * 9, fan_in = 1800, fan_out = 2700;
    Var v = zeros(shape, Dtype::float64, true);
    init::xavier_normal_(v, 1.5);
    double sigma = 1.5 * std::sqrt(2.0 / (fan_in + fan_out));
    CHECK(std::abs(moments(v).std - sigma) <= std_tolerance(sigma, n, 3.0));
    CHECK(std::abs(moments(v).mean) <= kSigmas * sigma / std::sqrt(n));
    init::kaiming_normal_(v);  // a = 0: the ReLU gain sqrt(2)
    sigma = std::sqrt(2.0 / fan_in);
    CHECK(std::abs(moments(v).std - sigma) <= std_tolerance(sigma, n, 3.0));
    init::kaiming_normal_(v, 1.0);  // a = 1: gain 1
    sigma = std::sqrt(1.0 / fan_in);
    CHECK(std::abs(moments(v).std - sigma) <= std_tolerance(sigma, n, 3.0));
}

TEST_CASE("init: functions that need fans refuse rank < 2, naming the shape") {
    Var b = zeros({5}, Dtype::float64, true);
    CHECK_THROWS_WITH_AS(init::xavier_uniform_(b), "init::xavier_uniform_: needs a tensor of rank >= 2, got shape (5)",
                         ValueError);
    CHECK_THROWS_WITH_AS(init::xavier_normal_(b), "init::xavier_normal_: needs a tensor of rank >= 2, got shape (5)",
                         ValueError);
    CHECK_THROWS_WITH_AS(init::kaiming_normal_(b), "init::kaiming_normal_: needs a tensor of rank >= 2, got shape (5)",
                         ValueError);
    CHECK_THROWS_WITH_AS(init::orthogonal_(b), "init::orthogonal_: needs a tensor of rank >= 2, got shape (5)",
                         ValueError);
    Var s = zeros({}, Dtype::float64, true);
    CHECK_THROWS_WITH_AS(init::orthogonal_(s), "init::orthogonal_: needs a tensor of rank >= 2, got shape ()",
                         ValueError);
}

TEST_CASE("init: orthogonal_ is gain times the Q of the QR of a normal draw") {
    // Tall, square and wide (a conv weight (4, 2, 3, 3) is the 4 x 18 matrix it flattens to).
    for (const Shape& shape : {Shape{20, 7}, Shape{6, 6}, Shape{4, 2, 3, 3}}) {
        for (double gain : {1.0, 1.7}) {
            CAPTURE(shape_str(shape));
            CAPTURE(gain);
            const std::size_t rows = shape[0], cols = numel(shape) / rows;
            manual_seed(11);
            const Tensor<double> a = randn<double>({rows, cols});  // the draw orthogonal_ makes
            manual_seed(11);
            Var v = zeros(shape, Dtype::float64, true);
            init::orthogonal_(v, gain);
            CHECK(v.shape() == shape);
            const Tensor<double> w = as_matrix(v, rows, cols) / gain;
            // Tall: W = Q (rows x cols), so WᵀW = I and R = WᵀA is upper triangular with a
            // positive diagonal. Wide: Aᵀ = Q R with W = Qᵀ, so WWᵀ = I and R = WAᵀ. Householder
            // QR keeps QᵀQ - I within a small multiple of n u (u = 1.1e-16, n <= 18) and R's
            // zeros within that times |A| (entries below 5): 1e-12 is far above rounding and far
            // below any error in the algorithm (O(1)).
            const bool wide = rows < cols;
            const Tensor<double> gram = wide ? mm(w, t(w)) : mm(t(w), w);
            const Tensor<double> r = wide ? mm(w, t(a)) : mm(t(w), a);
            const std::size_t k = wide ? rows : cols;
            double off = 0.0, below = 0.0, min_diag = INFINITY;
            for (std::size_t i = 0; i < k; ++i) {
                for (std::size_t j = 0; j < k; ++j) off = std::max(off, std::abs(gram(i, j) - (i == j ? 1.0 : 0.0)));
                for (std::size_t j = 0; j < i; ++j) below = std::max(below, std::abs(r(i, j)));
                min_diag = std::min(min_diag, r(i, i));
            }
            CHECK(off <= 1e-12);
            CHECK(below <= 1e-12);
            CHECK(min_diag > 0.0);
        }
    }
}

TEST_CASE("init: orthogonal_ in float32, and an empty tensor is left as is") {
    Var v = zeros({9, 5}, Dtype::float32, true);
    init::orthogonal_(v, 2.0);
    REQUIRE(v.dtype() == Dtype::float32);
    const Tensor<double> w = as_matrix(v, 9, 5);
    const Tensor<double> gram = mm(t(w), w);
    // Entries rounded to float32 (u = 6e-8) after scaling by 2: WᵀW = 4 I to 9 products of
    // size 4 u each, under 1e-5 with room; a non-orthogonal W is off by O(1).
    for (std::size_t i = 0; i < 5; ++i)
        for (std::size_t j = 0; j < 5; ++j) CHECK(std::abs(gram(i, j) - (i == j ? 4.0 : 0.0)) <= 1e-5);
    Var empty = zeros({0, 3}, Dtype::float64, true);
    CHECK_NOTHROW(init::orthogonal_(empty));
}
