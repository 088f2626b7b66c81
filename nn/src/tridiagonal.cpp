#include "odenet/nn/tridiagonal.hpp"

#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "odenet/autodiff/record.hpp"
#include "odenet/core/error.hpp"

namespace odenet::nn {

namespace {

constexpr const char* kWhere = "tridiagonal_solve";

[[noreturn]] void bad_pivot(std::size_t s, std::size_t i, double pivot) {
    char msg[200];
    std::snprintf(msg, sizeof msg,
                  "matrix %zu has pivot %g in row %zu (the Thomas algorithm does not pivot; it needs a "
                  "nonsingular, e.g. diagonally dominant, matrix)",
                  s, pivot, i);
    throw ValueError(kWhere, msg);
}

// The kernel on plain tensors: every matrix of the batch, each right-hand side overwritten.
template <class T>
Tensor<T> solve_all(const TridiagonalSystem& system, Tensor<T> r) {
    const std::size_t n = system.size();
    for (std::size_t s = 0; s < system.batch(); ++s) thomas_solve(system, s, r.data() + s * n);
    return r;
}

}  // namespace

TridiagonalSystem TridiagonalSystem::transposed() const {
    // (Aᵀ)[i][i-1] = A[i-1][i] = upper(i-1) and (Aᵀ)[i][i+1] = A[i+1][i] = lower(i+1).
    TridiagonalSystem t{xt::zeros_like(lower), diag, xt::zeros_like(upper)};
    const std::size_t n = size();
    for (std::size_t s = 0; s < batch(); ++s) {
        for (std::size_t i = 1; i < n; ++i) t.lower(s, i) = upper(s, i - 1);
        for (std::size_t i = 0; i + 1 < n; ++i) t.upper(s, i) = lower(s, i + 1);
    }
    return t;
}

// Forward elimination turns A into a unit upper bidiagonal matrix with superdiagonal w, and r
// into g; back substitution then gives x. The arithmetic is in float64 whatever T is, so a
// float32 solve loses no more than the final rounding.
template <class T>
void thomas_solve(const TridiagonalSystem& system, std::size_t s, T* r) {
    const std::size_t n = system.size();
    if (n == 0) return;
    std::vector<double> w(n), g(n);
    double pivot = system.diag(s, 0);
    if (pivot == 0 || !std::isfinite(pivot)) bad_pivot(s, 0, pivot);
    w[0] = system.upper(s, 0) / pivot;
    g[0] = static_cast<double>(r[0]) / pivot;
    for (std::size_t i = 1; i < n; ++i) {
        const double l = system.lower(s, i);
        pivot = system.diag(s, i) - l * w[i - 1];
        if (pivot == 0 || !std::isfinite(pivot)) bad_pivot(s, i, pivot);
        w[i] = i + 1 < n ? system.upper(s, i) / pivot : 0.0;
        g[i] = (static_cast<double>(r[i]) - l * g[i - 1]) / pivot;
    }
    r[n - 1] = static_cast<T>(g[n - 1]);
    double next = g[n - 1];
    for (std::size_t i = n - 1; i-- > 0;) {
        next = g[i] - w[i] * next;
        r[i] = static_cast<T>(next);
    }
}

template void thomas_solve(const TridiagonalSystem&, std::size_t, float*);
template void thomas_solve(const TridiagonalSystem&, std::size_t, double*);

// x = A⁻¹ r is linear in r, so r̄ = A⁻ᵀ x̄: the backward is this op on the transposed system,
// itself recorded under create_graph (second and higher orders).
Var tridiagonal_solve(std::shared_ptr<const TridiagonalSystem> system, const Var& r) {
    const Shape expected{system->batch(), system->size()};
    if (!r.defined() || r.shape() != expected) {
        throw ShapeError(kWhere, "the right-hand side must be (matrices, rows) = " + shape_str(expected) + ", got " +
                                     (r.defined() ? shape_str(r.shape()) : std::string("an undefined Var")));
    }
    Value x = r.dtype() == Dtype::float32 ? Value(solve_all(*system, r.value<float>()))
                                          : Value(solve_all(*system, r.value<double>()));
    return record("tridiagonal_solve", std::move(x), {&r},
                  [system](const Var& gx, const BackwardContext& /*ctx*/) -> Grads {
                      auto t = std::make_shared<const TridiagonalSystem>(system->transposed());
                      return {tridiagonal_solve(std::move(t), gx)};
                  });
}

}  // namespace odenet::nn
