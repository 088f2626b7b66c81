// The group norm kernels of core/group_norm.hpp, without autodiff: the forward against a
// direct long double computation of eq. 1-3 of Wu & He (2018), in float64 and float32, and the
// backward against central finite differences of ⟨y, g⟩ in float64.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include <xtensor/xbuilder.hpp>

#include "odenet/core/error.hpp"
#include "odenet/core/group_norm.hpp"
#include "odenet/core/random.hpp"

using namespace odenet;

namespace {

struct Case {
    Shape x;
    std::size_t groups;
};
// Every group count of 6 channels, no spatial axes, one, and three.
const Case kCases[] = {{{2, 6, 3, 4}, 1}, {{2, 6, 3, 4}, 2}, {{2, 6, 3, 4}, 3}, {{2, 6, 3, 4}, 6},
                       {{3, 4}, 2},       {{2, 4, 5}, 2},    {{1, 8, 2, 3, 2}, 4}};
constexpr double kEps = 1e-5;

template <class T>
Tensor<T> random_tensor(const Shape& shape, Generator& gen, double scale = 1, double shift = 0) {
    const Tensor<double> d = randn<double>(shape, gen) * scale + shift;
    return Tensor<T>(xt::cast<T>(d));
}

// Each entry of y and the scale of its rounding error (below).
struct Reference {
    std::vector<long double> y, scale;
};

// y = (x - μ) r w_c + b_c, r = 1/√(σ² + eps), per sample and group, in long double. The
// kernel's error: μ and σ² are sums of m values (accumulated in T in 16 lanes, then in double),
// so μ is off by about (m/16 + 2)·u·mean|x| and r relatively by about (m/16 + 4)·u; the scale,
// shift and y = x·scale + shift each round once more. Hence an error of at most about
//   (m/16 + 4)·u·(|w|·(|x̂| + r·mean|x|)) + 3u·(|x|·r·|w| + |μ|·r·|w| + |b|),
// checked with a factor 4 of margin as 4·(m/16 + 8)·u·scale, scale = |w|·(|x̂| + r·(mean|x| +
// |x| + |μ|)) + |b|. A wrong group or channel moves y by O(|w|).
template <class T>
Reference reference_forward(const GroupNormLayout& L, const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b) {
    Reference r{std::vector<long double>(x.size()), std::vector<long double>(x.size())};
    const std::size_t m = L.per_group();
    for (std::size_t i = 0; i < L.n * L.groups; ++i) {
        long double mu = 0, var = 0, mean_abs = 0;
        for (std::size_t k = 0; k < m; ++k) mu += x.data()[i * m + k];
        mu /= m;
        for (std::size_t k = 0; k < m; ++k) {
            const long double d = x.data()[i * m + k] - mu;
            var += d * d;
            mean_abs += std::fabs((long double)x.data()[i * m + k]);
        }
        var /= m;
        mean_abs /= m;
        const long double rstd = 1 / std::sqrt(var + kEps);
        for (std::size_t k = 0; k < m; ++k) {
            const std::size_t at = i * m + k, c = (i % L.groups) * L.channels_per_group() + k / L.spatial;
            const long double xhat = (x.data()[at] - mu) * rstd;
            r.y[at] = xhat * w(c) + b(c);
            r.scale[at] = std::fabs(w(c)) * (std::fabs(xhat) + rstd * (mean_abs + std::fabs(x.data()[at]) + std::fabs(mu))) +
                          std::fabs(b(c));
        }
    }
    return r;
}

template <class T>
void check_forward(const Case& cs) {
    INFO("x ", shape_str(cs.x), ", ", cs.groups, " groups, ", std::string(sizeof(T) == 4 ? "float32" : "float64"));
    Generator gen(23);
    const GroupNormLayout L = group_norm_layout(cs.x, cs.groups);
    const Tensor<T> x = random_tensor<T>(cs.x, gen, 2.0, 1.0);
    const Tensor<T> w = random_tensor<T>({L.c}, gen), b = random_tensor<T>({L.c}, gen);
    const Tensor<T> ones = xt::ones<T>({L.c}), zeros = xt::zeros<T>({L.c});
    const long double u = std::numeric_limits<T>::epsilon() / 2, factor = 4 * (L.per_group() / 16.0 + 8) * u;
    const auto compare = [&](const Tensor<T>& got, const Reference& want, const char* what) {
        REQUIRE(got.shape() == x.shape());
        for (std::size_t k = 0; k < got.size(); ++k) {
            INFO(std::string(what), " entry ", k, ": got ", double(got.data()[k]), ", want ", double(want.y[k]));
            REQUIRE(std::fabs(got.data()[k] - want.y[k]) <= factor * want.scale[k]);
        }
    };
    compare(group_norm_forward(L, x, w.data(), b.data(), kEps), reference_forward(L, x, w, b), "affine");
    compare(group_norm_forward<T>(L, x, nullptr, nullptr, kEps), reference_forward(L, x, ones, zeros), "plain");
}

// ⟨group_norm_forward(x, w, b), g⟩, the scalar whose gradient group_norm_backward gives.
double loss(const GroupNormLayout& L, const Tensor<double>& x, const Tensor<double>& w, const Tensor<double>& b,
            const Tensor<double>& g) {
    const Tensor<double> y = group_norm_forward(L, x, w.data(), b.data(), kEps);
    double s = 0;
    for (std::size_t k = 0; k < y.size(); ++k) s += y.data()[k] * g.data()[k];
    return s;
}

// Central differences, (L(t + h e_k) - L(t - h e_k)) / 2h for every entry k of t (x, w or b;
// `t` is one of the arguments of `f`, perturbed in place and restored).
template <class F>
std::vector<double> central_differences(Tensor<double>& t, F&& f, double h) {
    std::vector<double> d(t.size());
    for (std::size_t k = 0; k < t.size(); ++k) {
        const double keep = t.data()[k];
        t.data()[k] = keep + h;
        const double up = f();
        t.data()[k] = keep - h;
        const double down = f();
        t.data()[k] = keep;
        d[k] = (up - down) / (2 * h);
    }
    return d;
}

}  // namespace

TEST_CASE("group_norm_forward matches eq. 1-3 computed directly, float64 and float32") {
    for (const Case& cs : kCases) {
        check_forward<double>(cs);
        check_forward<float>(cs);
    }
}

// With h = 1e-5 and O(1) inputs the central difference's truncation error is about
// h²/6·|L'''| ~ 1e-10 and its rounding error about u·Σ|y·g|/h ~ 1e-16·50/1e-5 = 5e-10; the
// bound 1e-7·(1 + |∂L|) leaves a factor 100, while a wrong term of the formula moves a
// gradient by O(1).
TEST_CASE("group_norm_backward matches central differences in float64") {
    for (const Case& cs : kCases) {
        INFO("x ", shape_str(cs.x), ", ", cs.groups, " groups");
        Generator gen(29);
        const GroupNormLayout L = group_norm_layout(cs.x, cs.groups);
        Tensor<double> x = randn<double>(cs.x, gen) * 2.0 + 1.0;
        Tensor<double> w = randn<double>({L.c}, gen), b = randn<double>({L.c}, gen);
        const Tensor<double> g = randn<double>(cs.x, gen);
        const GroupNormGrads<double> grads = group_norm_backward(L, x, g, w.data(), kEps);
        REQUIRE(grads.dx);
        REQUIRE(grads.dweight);
        REQUIRE(grads.dbias);
        const auto f = [&] { return loss(L, x, w, b, g); };
        const double h = 1e-5;
        for (auto [what, t, analytic] : {std::tuple{"dx", &x, &*grads.dx}, std::tuple{"dweight", &w, &*grads.dweight},
                                         std::tuple{"dbias", &b, &*grads.dbias}}) {
            REQUIRE(analytic->shape() == t->shape());
            const std::vector<double> numeric = central_differences(*t, f, h);
            for (std::size_t k = 0; k < numeric.size(); ++k) {
                INFO(std::string(what), " entry ", k, ": analytic ", analytic->data()[k], ", numeric ", numeric[k]);
                REQUIRE(std::abs(analytic->data()[k] - numeric[k]) <= 1e-7 * (1 + std::abs(numeric[k])));
            }
        }
    }
}

TEST_CASE("group_norm_backward without weight, and only the gradients asked for") {
    Generator gen(31);
    const GroupNormLayout L = group_norm_layout({2, 6, 3, 4}, 3);
    const Tensor<double> x = randn<double>({2, 6, 3, 4}, gen), g = randn<double>({2, 6, 3, 4}, gen);
    const Tensor<double> ones = xt::ones<double>({L.c});
    // No weight is a weight of ones.
    const GroupNormGrads<double> plain = group_norm_backward<double>(L, x, g, nullptr, kEps);
    const GroupNormGrads<double> unit = group_norm_backward(L, x, g, ones.data(), kEps);
    CHECK(*plain.dx == *unit.dx);
    CHECK(*plain.dweight == *unit.dweight);
    const GroupNormGrads<double> some = group_norm_backward<double>(L, x, g, nullptr, kEps, {.dx = false, .dweight = true, .dbias = false});
    CHECK(!some.dx);
    CHECK(!some.dbias);
    REQUIRE(some.dweight);
    CHECK(*some.dweight == *plain.dweight);
}

TEST_CASE("group_norm_layout's errors and the kernels' operand checks") {
    const GroupNormLayout L = group_norm_layout({2, 6, 3, 4}, 3);
    CHECK(L.spatial == 12);
    CHECK(L.per_group() == 24);
    CHECK_THROWS_WITH_AS(group_norm_layout({2, 6, 3}, 4), doctest::Contains("not divisible into 4 groups"), ShapeError);
    CHECK_THROWS_AS(group_norm_layout({2, 6, 3}, 0), ShapeError);
    CHECK_THROWS_AS(group_norm_layout({6}, 3), ShapeError);
    const Tensor<double> wrong = xt::zeros<double>({2, 6, 3, 3});
    CHECK_THROWS_AS(group_norm_forward<double>(L, wrong, nullptr, nullptr, kEps), ShapeError);
    const Tensor<double> x = xt::zeros<double>({2, 6, 3, 4});
    CHECK_THROWS_WITH_AS(group_norm_backward<double>(L, x, wrong, nullptr, kEps), doctest::Contains("g has shape"), ShapeError);
}
