// The checkers themselves (autodiff/testing/odenet/testing/gradcheck.hpp): hand-made ops with
// deliberately wrong first or second derivatives, off by as little as one part in a million,
// and non-finite values on either side, must each fail, or every gradcheck in the suite could
// pass vacuously. The same ops with the right formula pass, so a failure is the error's doing.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>

#include <xtensor/xmath.hpp>

#include "odenet/autodiff/record.hpp"
#include "odenet/testing/gradcheck.hpp"

using namespace odenet;
using namespace odenet::testing;

namespace {

using V = std::vector<Var>;

Value map_value(const Var& x, double (*fn)(double)) {
    Tensor<double> y = x.value<double>();
    for (double& e : y) e = fn(e);
    return Value(std::move(y));
}

// y = sin x with the derivative cos x · (1 + rel): rel = 0 is right.
Var sin_scaled(const Var& x, double rel) {
    Var in = x;
    return record("sin_scaled", map_value(x, [](double v) { return std::sin(v); }), {&in},
                  [in, rel](const Var& gy, const BackwardContext&) -> Grads { return {gy * cos(in) * (1.0 + rel)}; });
}

// 3x², recorded with the derivative 6x · (1 + rel) (right for rel = 0), or NaN with nan_grad.
Var three_x_squared(const Var& x, double rel, bool nan_grad = false) {
    Var in = x;
    return record("three_x_squared", map_value(x, [](double v) { return 3 * v * v; }), {&in},
                  [in, rel, nan_grad](const Var& gy, const BackwardContext&) -> Grads {
                      if (nan_grad) return {gy * std::numeric_limits<double>::quiet_NaN()};
                      return {gy * in * (6.0 * (1.0 + rel))};
                  });
}

enum class CubeBackward {
    right,           // g · 3x², written in recorded ops
    frozen,          // g · 3x² with 3x² a constant tensor: the value is right, its derivative is lost
    second_off,      // g · 3x² whose own derivative is 6x · (1 + 1e-6)
    second_nan,      // g · 3x² whose own derivative is NaN
};

// y = x³ with the first derivative always right in value; only its differentiability varies.
Var cube(const Var& x, CubeBackward how) {
    Var in = x;
    return record("cube", map_value(x, [](double v) { return v * v * v; }), {&in},
                  [in, how](const Var& gy, const BackwardContext&) -> Grads {
                      switch (how) {
                          case CubeBackward::right: return {gy * (3.0 * square(in))};
                          case CubeBackward::frozen: {
                              const Tensor<double> d = 3.0 * in.value<double>() * in.value<double>();
                              return {gy * Var(Tensor<double>(d))};
                          }
                          case CubeBackward::second_off: return {gy * three_x_squared(in, 1e-6)};
                          case CubeBackward::second_nan: return {gy * three_x_squared(in, 0, true)};
                      }
                      return {};
                  });
}

// Points where every derivative involved is O(1): |cos x| >= 0.36, |x| >= 0.5.
Var points() { return Var(Tensor<double>{0.3, 1.2, -0.7, 2.0, -1.4}); }

bool mentions(const GradcheckResult& r, const std::string& text) { return r.message.find(text) != std::string::npos; }

}  // namespace

TEST_CASE("gradcheck catches a wrong derivative") {
    // d sin = sin instead of cos.
    auto wrong_sin = [](const V& x) {
        Var in = x[0];
        return record("wrong_sin", map_value(in, [](double v) { return std::sin(v); }), {&in},
                      [in](const Var& gy, const BackwardContext&) -> Grads { return {gy * sin(in)}; });
    };
    const auto result = gradcheck(wrong_sin, {points()});
    CHECK_FALSE(result.ok);
    CHECK(mentions(result, "input 0"));
}

TEST_CASE("gradcheck catches a first derivative off by one part in a million") {
    CHECK(gradcheck([](const V& x) { return sin_scaled(x[0], 0.0); }, {points()}));
    for (double rel : {1e-6, -1e-6}) {
        CAPTURE(rel);
        const auto result = gradcheck([rel](const V& x) { return sin_scaled(x[0], rel); }, {points()});
        CHECK_FALSE(result.ok);
        CHECK(mentions(result, "gradient mismatch at input 0"));
        // PyTorch's defaults (atol 1e-5, rtol 1e-3) let this through: why ours are tighter.
        CHECK(gradcheck([rel](const V& x) { return sin_scaled(x[0], rel); }, {points()},
                        {.eps = 1e-6, .atol = 1e-5, .rtol = 1e-3}));
    }
    // Several inputs: the wrong one is named.
    const auto two = gradcheck([](const V& x) { return sin_scaled(x[0], 0.0) * sin_scaled(x[1], 1e-6); },
                               {points(), points() * 0.5});
    CHECK_FALSE(two.ok);
    CHECK(mentions(two, "at input 1"));
}

TEST_CASE("gradgradcheck catches a wrong second derivative whose first derivative is right") {
    for (CubeBackward how : {CubeBackward::right, CubeBackward::frozen, CubeBackward::second_off, CubeBackward::second_nan}) {
        const int variant = int(how);
        CAPTURE(variant);
        auto f = [how](const V& x) { return cube(x[0], how); };
        CHECK(gradcheck(f, {points()}));  // the first derivative is right in every variant
        const auto second = gradgradcheck(f, {points()});
        if (how == CubeBackward::right) {
            CHECK(second.ok);
        } else {
            CHECK_FALSE(second.ok);
            // The map checked is (x, v) ↦ wᵀ(v ⊙ f'(x)): input 0 is x, where the error is; input 1
            // is the cotangent v, whose derivative w ⊙ f'(x) is right.
            CHECK(mentions(second, "at input 0"));
        }
    }
    // The same error at first order is caught by gradcheck of the backward itself.
    CHECK_FALSE(gradcheck([](const V& x) { return three_x_squared(x[0], 1e-6); }, {points()}).ok);
}

TEST_CASE("gradcheck fails on a non-finite difference, analytic value or output") {
    // log at 2e-6: the step reaches below zero, so the difference is NaN while the analytic
    // 1/x is finite (the old checker accepted it).
    const auto log_near_zero = gradcheck([](const V& x) { return log(x[0]); }, {Var(Tensor<double>{1.0, 2e-6})});
    CHECK_FALSE(log_near_zero.ok);
    CHECK(mentions(log_near_zero, "element 1"));
    CHECK(mentions(log_near_zero, "nan"));

    // A NaN or infinite analytic gradient with a finite difference.
    for (double bad : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
        CAPTURE(bad);
        auto f = [bad](const V& x) {
            Var in = x[0];
            return record("bad_grad", Value(in.value<double>()), {&in},
                          [bad](const Var& gy, const BackwardContext&) -> Grads { return {gy * bad}; });
        };
        const auto result = gradcheck(f, {points()});
        CHECK_FALSE(result.ok);
        CHECK(mentions(result, "input 0, element 0"));
    }

    // f itself not finite at the sample.
    const auto at_pole = gradcheck([](const V& x) { return 1.0 / x[0]; }, {Var(Tensor<double>{1.0, 0.0})});
    CHECK_FALSE(at_pole.ok);
    CHECK(mentions(at_pole, "not finite"));
}

TEST_CASE("gradcheck options: the dyadic grid keeps float32 arithmetic exact") {
    // x² through float32 (to_dtype's registry row): with dyadic inputs, cotangents and step,
    // both sides agree to float64 rounding; a 1e-6 error in a float32 formula is still caught.
    auto f32 = [](const V& x) { return to_dtype(square(to_dtype(x[0], Dtype::float32)), Dtype::float64); };
    const Var x(Tensor<double>{0.25, -1.5, 3.0625, 0.5});
    const GradcheckOptions dyadic{.eps = 1.0 / 16, .dyadic = true};
    CHECK(gradcheck(f32, {x}, dyadic));
    CHECK(gradgradcheck(f32, {x}, dyadic));
    CHECK_FALSE(gradcheck(f32, {x}).ok);  // the default step and cotangents: float32 rounding fails float64 tolerances
    auto off = [](const V& x) {
        Var in = to_dtype(x[0], Dtype::float32);
        Var y = record("square_off", Value(Tensor<float>(in.value<float>() * in.value<float>())), {&in},
                       [in](const Var& gy, const BackwardContext&) -> Grads { return {gy * in * (2.0 * (1 + 1e-6))}; });
        return to_dtype(y, Dtype::float64);
    };
    CHECK_FALSE(gradcheck(off, {x}, dyadic).ok);
}
