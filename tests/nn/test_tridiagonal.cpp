// The Thomas algorithm against the residual of a dense product, in float64 and float32; its
// first and second derivatives by gradcheck on a nonsymmetric batch (so that a backward which
// forgot the transpose fails); its errors.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <string>

#include "odenet/nn.hpp"
#include "odenet/testing/gradcheck.hpp"

using namespace odenet;
using namespace odenet::testing;
namespace nn = odenet::nn;

namespace {

// Three strictly diagonally dominant, nonsymmetric 5×5 matrices with random off-diagonals.
std::shared_ptr<const nn::TridiagonalSystem> random_system(std::size_t batch = 3, std::size_t n = 5) {
    Generator gen(11);
    nn::TridiagonalSystem sys{randn<double>({batch, n}, gen), randn<double>({batch, n}, gen), randn<double>({batch, n}, gen)};
    for (std::size_t s = 0; s < batch; ++s)
        for (std::size_t i = 0; i < n; ++i)
            sys.diag(s, i) = (sys.diag(s, i) > 0 ? 1.0 : -1.0) *
                             (0.5 + std::abs(sys.lower(s, i)) + std::abs(sys.upper(s, i)) + std::abs(sys.diag(s, i)));
    return std::make_shared<const nn::TridiagonalSystem>(std::move(sys));
}

// max |A_s x_s - r_s| over the batch, A applied densely from its three diagonals.
double residual(const nn::TridiagonalSystem& a, const Tensor<double>& x, const Tensor<double>& r) {
    double worst = 0;
    const std::size_t n = a.size();
    for (std::size_t s = 0; s < a.batch(); ++s)
        for (std::size_t i = 0; i < n; ++i) {
            double ax = a.diag(s, i) * x(s, i);
            if (i > 0) ax += a.lower(s, i) * x(s, i - 1);
            if (i + 1 < n) ax += a.upper(s, i) * x(s, i + 1);
            worst = std::max(worst, std::abs(ax - r(s, i)));
        }
    return worst;
}

}  // namespace

TEST_CASE("tridiagonal_solve: residual of the Thomas algorithm, float64 and float32") {
    const auto sys = random_system();
    const Var r(randn<double>({3, 5}));
    const Var x = nn::tridiagonal_solve(sys, r);
    // Diagonally dominant with |entries| ~ 1: the backward error is a few ulps (Golub and Van Loan 4.3).
    CHECK(residual(*sys, x.value<double>(), r.value<double>()) < 1e-14);
    const Var x32 = nn::tridiagonal_solve(sys, to_dtype(r, Dtype::float32));
    CHECK(x32.dtype() == Dtype::float32);
    // Solved in float64, rounded once to float32: within a few float32 ulps of the float64 answer.
    const Tensor<double> back = to_dtype(x32, Dtype::float64).value<double>();
    CHECK(xt::amax(xt::abs(back - x.value<double>()))() < 1e-6);
    // A 1×1 system and an empty one.
    const Tensor<double> zero = xt::zeros<double>({1, 1}), four = xt::ones<double>({1, 1}) * 4.0;
    const Tensor<double> two = xt::ones<double>({1, 1}) * 2.0;
    const auto one = std::make_shared<const nn::TridiagonalSystem>(nn::TridiagonalSystem{zero, four, zero});
    CHECK(nn::tridiagonal_solve(one, Var(two)).value<double>()(0, 0) == 0.5);
    const auto empty = std::make_shared<const nn::TridiagonalSystem>(
        nn::TridiagonalSystem{xt::zeros<double>({2, 0}), xt::zeros<double>({2, 0}), xt::zeros<double>({2, 0})});
    CHECK(nn::tridiagonal_solve(empty, Var(Tensor<double>(xt::zeros<double>({2, 0})))).shape() == Shape{2, 0});
}

TEST_CASE("tridiagonal_solve: gradients in the right-hand side, first and second order") {
    const auto sys = random_system();
    auto f = [sys](const std::vector<Var>& in) { return nn::tridiagonal_solve(sys, in[0]); };
    const Var r(randn<double>({3, 5}));
    CHECK(gradcheck(f, {r}));
    CHECK(gradgradcheck(f, {r}));
    // A square of the solution, so the second derivative is not zero and the backward's own
    // derivative (the transposed solve, recorded) is exercised.
    auto g = [sys](const std::vector<Var>& in) { return square(nn::tridiagonal_solve(sys, in[0])); };
    CHECK(gradgradcheck(g, {r}));
}

TEST_CASE("tridiagonal_solve: errors name the matrix, the row and the shapes") {
    nn::TridiagonalSystem sys{xt::zeros<double>({2, 3}), xt::ones<double>({2, 3}), xt::zeros<double>({2, 3})};
    sys.diag(1, 2) = 0.0;
    const auto p = std::make_shared<const nn::TridiagonalSystem>(sys);
    CHECK_THROWS_WITH_AS(nn::tridiagonal_solve(p, Var(Tensor<double>(xt::ones<double>({2, 3})))),
                         doctest::Contains("matrix 1 has pivot 0 in row 2"), ValueError);
    CHECK_THROWS_WITH_AS(nn::tridiagonal_solve(p, Var(Tensor<double>(xt::ones<double>({3, 2})))),
                         doctest::Contains("must be (matrices, rows) = (2, 3), got (3, 2)"), ShapeError);
}
