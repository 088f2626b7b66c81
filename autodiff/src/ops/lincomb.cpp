// Σ cᵢ xᵢ over same-shape operands in one pass: the stage combinations of a Runge-Kutta step
// recorded as one node each, instead of a chain of 2n scalar-multiply and add nodes.
#include "dispatch.hpp"
#include "odenet/autodiff/ops.hpp"
#include "odenet/autodiff/record.hpp"

namespace odenet {

// d(Σ cᵢ xᵢ)/dxᵢ = cᵢ
Var linear_combination(const std::vector<Var>& xs, const std::vector<double>& coeffs) {
    if (xs.empty() || xs.size() != coeffs.size()) {
        throw ShapeError("linear_combination", std::to_string(xs.size()) + " operands and " +
                                                   std::to_string(coeffs.size()) + " coefficients (need as many, >= 1)");
    }
    for (std::size_t i = 1; i < xs.size(); ++i) {
        ops::check_same_dtype(xs[0], xs[i], "linear_combination");
        if (xs[i].shape() != xs[0].shape()) {
            throw ShapeError("linear_combination", "operand " + std::to_string(i) + " has shape " +
                                                       shape_str(xs[i].shape()) + ", operand 0 " + shape_str(xs[0].shape()));
        }
    }
    Value y = xs[0].value().visit([&](const auto& first) -> Value {
        using T = typename std::decay_t<decltype(first)>::value_type;
        Tensor<T> out = Tensor<T>::from_shape(first.shape());
        T* po = out.data();
        const std::size_t n = out.size();
        const T c0 = T(coeffs[0]);
        for (std::size_t e = 0; e < n; ++e) po[e] = c0 * first.data()[e];
        for (std::size_t i = 1; i < xs.size(); ++i) {
            const T c = T(coeffs[i]);
            const T* px = xs[i].value().template as<T>().data();
            for (std::size_t e = 0; e < n; ++e) po[e] += c * px[e];
        }
        return Value(std::move(out));
    });
    return record("linear_combination", std::move(y), xs, [coeffs](const Var& gy, const BackwardContext& ctx) -> Grads {
        Grads g(coeffs.size());
        for (std::size_t i = 0; i < coeffs.size(); ++i) {
            if (ctx.needs(i)) g[i] = coeffs[i] == 1.0 ? gy : gy * coeffs[i];
        }
        return g;
    });
}

}  // namespace odenet
