// The Gaussian pieces: Normal's log_prob and reparameterised samples, the closed-form KL against
// a Monte-Carlo estimate, the Gaussian log-likelihood with fixed and learned noise and a mask;
// values by plain loops, gradients of first and second order in float64, float32, the errors.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

#include "odenet/nn.hpp"
#include "odenet/testing/gradcheck.hpp"

using namespace odenet;
using namespace odenet::testing;
namespace nn = odenet::nn;

namespace {

const double kLog2Pi = std::log(2 * std::numbers::pi);

// log N(x; mu, exp(lv)) for one entry, written out.
double log_normal(double x, double mu, double lv) {
    return -0.5 * (x - mu) * (x - mu) / std::exp(lv) - 0.5 * lv - 0.5 * kLog2Pi;
}

Var f32(const Var& v) { return to_dtype(v, Dtype::float32); }
Tensor<double> as_double(const Var& v) {
    return v.dtype() == Dtype::float32 ? Tensor<double>(xt::cast<double>(v.value<float>())) : v.value<double>();
}

}  // namespace

TEST_CASE("Normal: log_prob entry by entry, broadcasting samples, float32 too") {
    const Var mu(Tensor<double>{0.5, -1.0, 2.0}), lv(Tensor<double>{0.0, -1.5, 0.75});
    const nn::Normal q(mu, lv);
    const Var x(Tensor<double>{{0.0, 1.0, 2.5}, {-0.5, -1.0, 0.0}});
    const Var lp = q.log_prob(x);
    REQUIRE(lp.shape() == Shape{2, 3});
    for (std::size_t i = 0; i < 2; ++i)
        for (std::size_t j = 0; j < 3; ++j)
            CHECK(lp.value<double>()(i, j) ==
                  doctest::Approx(log_normal(x.value<double>()(i, j), mu.value<double>()(j), lv.value<double>()(j)))
                      .epsilon(1e-14));
    CHECK(q.stddev().value<double>()(1) == doctest::Approx(std::exp(-0.75)).epsilon(1e-15));
    const nn::Normal q32(f32(mu), f32(lv));
    const Var lp32 = q32.log_prob(f32(x));
    CHECK(lp32.dtype() == Dtype::float32);
    // float32 rounding (6e-8 relative) of values up to ~12 in magnitude: 1e-5 absolute.
    CHECK(xt::amax(xt::abs(as_double(lp32) - lp.value<double>()))() < 1e-5);
}

TEST_CASE("Normal: rsample is mean + exp(log_var / 2) eps with eps from the Generator") {
    const Var mu(Tensor<double>{{0.5, -1.0}, {2.0, 0.0}}), lv(Tensor<double>{{0.0, -1.5}, {0.75, 2.0}});
    const nn::Normal q(mu, lv);
    Generator a(9), b(9);
    const Var z = q.rsample(a);
    const Tensor<double> eps = randn<double>({2, 2}, b);
    CHECK(z.shape() == Shape{2, 2});
    for (std::size_t i = 0; i < 4; ++i)
        CHECK(z.value<double>().data()[i] == doctest::Approx(mu.value<double>().data()[i] +
                                                             std::exp(0.5 * lv.value<double>().data()[i]) * eps.data()[i])
                                                 .epsilon(1e-15));
    const Var zs = q.rsample(7, a);
    CHECK(zs.shape() == Shape{7, 2, 2});
    CHECK(nn::Normal(f32(mu), f32(lv)).rsample(a).dtype() == Dtype::float32);
    // Differentiable in mean and log_var: dz/dmu = 1, dz/dlv = ½ σ eps.
    Var m(mu.value().clone(), true), l(lv.value().clone(), true);
    Generator c(9);
    backward(sum(nn::Normal(m, l).rsample(c)));
    CHECK(m.grad().value<double>() == xt::ones<double>({2, 2}));
    CHECK(l.grad().value<double>()(1, 1) == doctest::Approx(0.5 * std::exp(1.0) * eps(1, 1)).epsilon(1e-15));
}

TEST_CASE("kl_divergence: the closed form by hand, zero for equal Normals, against a Monte-Carlo estimate") {
    const Var mq(Tensor<double>{0.3, -1.0, 1.5}), lq(Tensor<double>{-0.5, 0.4, -1.2});
    const Var mp(Tensor<double>{0.0, 0.5, 1.0}), lp(Tensor<double>{0.2, -0.3, 0.0});
    const nn::Normal q(mq, lq), p(mp, lp);
    const Var kl = nn::kl_divergence(q, p);
    double kl_total = 0;
    for (std::size_t d = 0; d < 3; ++d) {
        // KL = log(σp/σq) + (σq² + (μq − μp)²) / (2σp²) − ½, in standard deviations.
        const double sq = std::exp(0.5 * lq.value<double>()(d)), sp = std::exp(0.5 * lp.value<double>()(d));
        const double dm = mq.value<double>()(d) - mp.value<double>()(d);
        const double expected = std::log(sp / sq) + (sq * sq + dm * dm) / (2 * sp * sp) - 0.5;
        CHECK(kl.value<double>()(d) == doctest::Approx(expected).epsilon(1e-14));
        kl_total += expected;
    }
    CHECK(nn::kl_divergence(q, q).value<double>() == xt::zeros<double>({3}));
    // Broadcasting against a standard normal prior of shape (1).
    CHECK(nn::kl_divergence(q, nn::Normal::standard({1})).shape() == Shape{3});

    // KL(q‖p) = E_q[log q(z) − log p(z)]: the mean of n = 10⁶ draws of s = Σ_d (log q − log p)
    // has standard error sd(s)/sqrt(n), about 0.0027 here against KL ≈ 2.19. The check allows 5
    // of them: a correct formula fails by chance with probability 6e-7. A missing ½ or a variance
    // read as a log-variance misses by hundreds of them, q and p swapped (KL(p‖q) ≈ 2.06) by
    // about 47, which the last check asserts. The draws come from rsample, so they check it too.
    Generator gen(2024);
    const std::size_t n = 1000000;
    const Var z = q.rsample(n, gen);
    const Var s = sum(q.log_prob(z) - p.log_prob(z), {1});
    const Tensor<double>& sv = s.value<double>();
    const double mean = xt::mean(sv)();
    const double sd = std::sqrt(xt::sum(xt::square(sv - mean))() / (n - 1));
    const double se = sd / std::sqrt(static_cast<double>(n));
    CAPTURE(mean);
    CAPTURE(kl_total);
    CAPTURE(se);
    CHECK(std::abs(mean - kl_total) < 5 * se);
    CHECK(5 * se < 0.01 * kl_total);  // the check can tell a 1% error apart
    const double kl_pq = xt::sum(nn::kl_divergence(p, q).value<double>())();
    CHECK(std::abs(kl_pq - kl_total) > 20 * se);
}

TEST_CASE("gaussian_log_likelihood: per-sample sums, fixed and learned noise, masked entries excluded") {
    const Var x(Tensor<double>{{{0.5, 1.0}, {2.0, -1.0}, {0.0, 0.0}}, {{1.5, 0.2}, {0.1, 0.3}, {-0.4, 0.9}}});
    const Var mu(Tensor<double>{{{0.4, 1.2}, {1.5, -0.5}, {0.3, 0.1}}, {{1.0, 0.0}, {0.0, 0.0}, {0.0, 1.0}}});
    // Sequence 0 has its third time point padded, with NaN in x and mean.
    const Var mask = reshape(Var(Tensor<double>{{1, 1, 0}, {1, 1, 1}}), {2, 3, 1});
    Tensor<double> x_nan = x.value<double>(), mu_nan = mu.value<double>();
    x_nan(0, 2, 0) = mu_nan(0, 2, 1) = std::numeric_limits<double>::quiet_NaN();
    const double sigma = 0.3;
    const Var log_sigma(Tensor<double>{std::log(0.3), std::log(0.6)});  // one per feature
    double expected_fixed[2] = {0, 0}, expected_learned[2] = {0, 0};
    for (std::size_t b = 0; b < 2; ++b)
        for (std::size_t t = 0; t < 3; ++t)
            for (std::size_t d = 0; d < 2; ++d) {
                if (mask.value<double>()(b, t, 0) == 0) continue;
                const double xi = x.value<double>()(b, t, d), mi = mu.value<double>()(b, t, d);
                expected_fixed[b] += log_normal(xi, mi, 2 * std::log(sigma));
                expected_learned[b] += log_normal(xi, mi, 2 * log_sigma.value<double>()(d));
            }
    const Var fixed = nn::gaussian_log_likelihood(Var(x_nan), Var(mu_nan), sigma, mask);
    const Var learned = nn::gaussian_log_likelihood(Var(x_nan), Var(mu_nan), log_sigma, mask);
    REQUIRE(fixed.shape() == Shape{2});
    for (std::size_t b = 0; b < 2; ++b) {
        CHECK(fixed.value<double>()(b) == doctest::Approx(expected_fixed[b]).epsilon(1e-14));
        CHECK(learned.value<double>()(b) == doctest::Approx(expected_learned[b]).epsilon(1e-14));
    }
    // Without a mask every entry counts: sequence 1 is unchanged, and a 1-D x is per entry.
    CHECK(nn::gaussian_log_likelihood(x, mu, sigma).value<double>()(1) == doctest::Approx(expected_fixed[1]).epsilon(1e-14));
    CHECK(nn::gaussian_log_likelihood(Var(Tensor<double>{1.0, 2.0}), Var(Tensor<double>{0.0, 2.0}), 1.0)
              .value<double>()(0) == doctest::Approx(log_normal(1.0, 0.0, 0.0)).epsilon(1e-15));

    // The padding's NaN reaches no gradient: those entries get exactly 0, the rest are finite.
    Var xg(x_nan, true), mg(mu_nan, true), lg(log_sigma.value().clone(), true);
    backward(sum(nn::gaussian_log_likelihood(xg, mg, lg, mask)));
    for (const Var* v : {&xg, &mg}) {
        const auto& g = v->grad().value<double>();
        for (std::size_t d = 0; d < 2; ++d) CHECK(g(0, 2, d) == 0.0);
        CHECK(std::isfinite(xt::sum(g)()));
    }
    CHECK(std::isfinite(xt::sum(lg.grad().value<double>())()));

    // float32 (with a float64 mask) follows float64 to float32 rounding of sums of ~10.
    const Var f = nn::gaussian_log_likelihood(f32(x), f32(mu), f32(log_sigma), mask);
    CHECK(f.dtype() == Dtype::float32);
    CHECK(std::abs(as_double(f)(0) - expected_learned[0]) < 1e-5);
    CHECK(std::abs(as_double(f)(1) - expected_learned[1]) < 1e-5);
}

TEST_CASE("Gaussian pieces pass gradcheck and gradgradcheck in float64") {
    manual_seed(61);
    using V = std::vector<Var>;
    const Var mask(Tensor<double>{{1, 1, 0}, {0, 1, 1}});
    SUBCASE("Normal::log_prob in x, mean and log_var, with broadcasting") {
        const auto f = [](const V& v) { return nn::Normal(v[1], v[2]).log_prob(v[0]); };
        const V in{randn({4, 3}), randn({3}), randn({3})};
        CHECK(gradcheck(f, in));
        CHECK(gradgradcheck(f, in));
    }
    SUBCASE("Normal::rsample in mean and log_var, the same noise at every evaluation") {
        const auto f = [](const V& v) {
            Generator gen(77);
            return nn::Normal(v[0], v[1]).rsample(2, gen);
        };
        const V in{randn({2, 3}), randn({2, 3})};
        CHECK(gradcheck(f, in));
        CHECK(gradgradcheck(f, in));
    }
    SUBCASE("kl_divergence in all four") {
        const auto f = [](const V& v) { return nn::kl_divergence(nn::Normal(v[0], v[1]), nn::Normal(v[2], v[3])); };
        const V in{randn({2, 3}), randn({2, 3}), randn({2, 3}), randn({2, 3})};
        CHECK(gradcheck(f, in));
        CHECK(gradgradcheck(f, in));
    }
    SUBCASE("gaussian_log_likelihood, fixed noise, masked") {
        const auto f = [&](const V& v) { return nn::gaussian_log_likelihood(v[0], v[1], 0.7, mask); };
        const V in{randn({2, 3}), randn({2, 3})};
        CHECK(gradcheck(f, in));
        CHECK(gradgradcheck(f, in));
    }
    SUBCASE("gaussian_log_likelihood, learned noise per feature, masked, rank 3") {
        const Var mask3 = reshape(Var(Tensor<double>{{1, 0}, {1, 1}}), {2, 2, 1});
        const auto f = [&](const V& v) { return nn::gaussian_log_likelihood(v[0], v[1], v[2], mask3); };
        const V in{randn({2, 2, 3}), randn({2, 2, 3}), randn({3})};
        CHECK(gradcheck(f, in));
        CHECK(gradgradcheck(f, in));
    }
}

TEST_CASE("Gaussian pieces: errors name the function and the shapes") {
    CHECK_THROWS_WITH_AS(nn::Normal(zeros({3}), zeros({2})), "Normal: mean (3) and log_var (2) must have one shape",
                         ShapeError);
    CHECK_THROWS_AS(nn::Normal(zeros({3}), zeros({3}, Dtype::float32)), DtypeError);
    const nn::Normal q = nn::Normal::standard({3});
    CHECK_THROWS_WITH_AS(q.log_prob(zeros({4})), doctest::Contains("Normal::log_prob"), ShapeError);
    CHECK_THROWS_WITH_AS(q.log_prob(zeros({4})), doctest::Contains("(4)"), ShapeError);
    CHECK_THROWS_WITH_AS(nn::kl_divergence(q, nn::Normal::standard({2})), doctest::Contains("kl_divergence"), ShapeError);
    CHECK_THROWS_WITH_AS(nn::gaussian_log_likelihood(zeros({2, 3}), zeros({2, 4}), 1.0),
                         "gaussian_log_likelihood: mean of shape (2, 4) does not broadcast to x's shape (2, 3)",
                         ShapeError);
    CHECK_THROWS_WITH_AS(nn::gaussian_log_likelihood(zeros({2, 3}), zeros({2, 3}), 1.0, ones({3, 1})),
                         "gaussian_log_likelihood: mask of shape (3, 1) does not broadcast to x's shape (2, 3)",
                         ShapeError);
    CHECK_THROWS_WITH_AS(nn::gaussian_log_likelihood(zeros({2, 3}), zeros({2, 3}), zeros({2})),
                         "gaussian_log_likelihood: log_noise_std of shape (2) does not broadcast to x's shape (2, 3)",
                         ShapeError);
    CHECK_THROWS_WITH_AS(nn::gaussian_log_likelihood(zeros({2}), zeros({2}), 0.0),
                         "gaussian_log_likelihood: noise_std must be positive and finite, got 0.000000", ValueError);
    CHECK_THROWS_WITH_AS(nn::gaussian_log_likelihood(zeros({2}), zeros({2}), 1.0, full({2}, 2.0)),
                         "gaussian_log_likelihood: mask entries must be 0 or 1, got 2.000000 at flat index 0",
                         ValueError);
    CHECK_THROWS_WITH_AS(nn::gaussian_log_likelihood(Var::scalar(1.0), Var::scalar(1.0), 1.0),
                         "gaussian_log_likelihood: x needs a batch axis, got shape ()", ShapeError);
}
