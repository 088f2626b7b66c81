// Binary elementwise ops with NumPy broadcasting. Backward formulas return gradients of the
// broadcast shape; the engine sums them to each input's shape (see engine.cpp, run()).
#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>

#include "dispatch.hpp"
#include "odenet/autodiff/ops.hpp"
#include "odenet/autodiff/record.hpp"
#include "odenet/core/detail/broadcast_loop.hpp"
#include "odenet/core/shape.hpp"

namespace odenet {

namespace {

// Evaluates f elementwise over the broadcast shape after checking dtypes (errors name op).
template <class F>
Value binary_value(const Var& a, const Var& b, const char* op, F f) {
    return ops::map_values(a, b, op, [&](const auto& x, const auto& z) { return broadcast_apply(x, z, f, op); });
}

}  // namespace

// d(a + b) = (gy, gy)
Var add(const Var& a, const Var& b) {
    Value y = binary_value(a, b, "add", [](auto x, auto z) { return x + z; });
    return record("add", std::move(y), {&a, &b}, [](const Var& gy, const BackwardContext&) -> Grads { return {gy, gy}; });
}

// d(a - b) = (gy, -gy)
Var sub(const Var& a, const Var& b) {
    Value y = binary_value(a, b, "sub", [](auto x, auto z) { return x - z; });
    return record("sub", std::move(y), {&a, &b},
                  [](const Var& gy, const BackwardContext& ctx) -> Grads {
                      return {gy, ctx.needs(1) ? neg(gy) : Var()};
                  });
}

// d(a b) = (gy b, gy a)
Var mul(const Var& a, const Var& b) {
    Value y = binary_value(a, b, "mul", [](auto x, auto z) { return x * z; });
    return record("mul", std::move(y), {&a, &b},
                  [a = SavedVar(a, 0), b = SavedVar(b, 1)](const Var& gy, const BackwardContext& ctx) -> Grads {
                      return {ctx.needs(0) ? gy * b.unpack(ctx) : Var(), ctx.needs(1) ? gy * a.unpack(ctx) : Var()};
                  });
}

// d(a / b) = (gy / b, -gy a / b^2)
Var div(const Var& a, const Var& b) {
    Value y = binary_value(a, b, "div", [](auto x, auto z) { return x / z; });
    return record("div", std::move(y), {&a, &b},
                  [a = SavedVar(a, 0), b = SavedVar(b, 1)](const Var& gy, const BackwardContext& ctx) -> Grads {
                      const Var& vb = b.unpack(ctx);
                      Var ga = gy / vb;
                      return {ctx.needs(0) ? ga : Var(), ctx.needs(1) ? -(ga * a.unpack(ctx) / vb) : Var()};
                  });
}

// d(a^b) = (gy b a^(b-1), gy a^b log a)
Var pow(const Var& a, const Var& b) {
    Value y = binary_value(a, b, "pow", [](auto x, auto z) { return std::pow(x, z); });
    return record(
        "pow", std::move(y), {&a, &b},
        [a = SavedVar(a, 0), b = SavedVar(b, 1)](const Var& gy, const BackwardContext& ctx) -> Grads {
            const Var& va = a.unpack(ctx);
            return {ctx.needs(0) ? gy * b.unpack(ctx) * pow(va, b.unpack(ctx) - 1.0) : Var(),
                    ctx.needs(1) ? gy * ctx.output() * log(va) : Var()};
        },
        SaveOutput::yes);
}

// where(c, a, b): gradients gy where c (to a) and where not c (to b); c is a constant mask.
Var where(const Var& cond, const Var& a, const Var& b) {
    broadcast_shape(broadcast_shape(cond.shape(), a.shape(), "where"), b.shape(), "where");
    ops::check_same_dtype(cond, a, "where");
    Value y = ops::map_values(a, b, "where", [&cond](const auto& x, const auto& z) {
        using T = typename std::decay_t<decltype(x)>::value_type;
        Tensor<T> out = xt::where(xt::not_equal(cond.value().as<T>(), T(0)), x, z);
        return out;
    });
    Var mask = ops::constant_like(cond, [](const auto& t) {
        using T = typename std::decay_t<decltype(t)>::value_type;
        return xt::cast<T>(xt::not_equal(t, T(0)));
    });
    // The output also broadcasts over cond's shape; gradients of that shape are summed by the
    // engine to a's and b's shapes.
    return record("where", std::move(y), {&a, &b}, [mask](const Var& gy, const BackwardContext& ctx) -> Grads {
        return {ctx.needs(0) ? gy * mask : Var(), ctx.needs(1) ? gy * (1.0 - mask) : Var()};
    });
}

Var operator+(const Var& a, const Var& b) { return add(a, b); }
Var operator-(const Var& a, const Var& b) { return sub(a, b); }
Var operator*(const Var& a, const Var& b) { return mul(a, b); }
Var operator/(const Var& a, const Var& b) { return div(a, b); }

}  // namespace odenet
