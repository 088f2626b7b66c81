// Unary elementwise ops and ops with a scalar operand. Each backward is written in Var ops, so
// it can itself be differentiated (create_graph). Ops whose derivative is cheapest in terms of
// the output (exp, sqrt, tanh, sigmoid) save the output rather than recompute (Adept, tinygrad).
#include <cmath>

#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>

#include "dispatch.hpp"
#include "odenet/core/detail/broadcast_loop.hpp"
#include "odenet/autodiff/ops.hpp"
#include "odenet/autodiff/record.hpp"

namespace odenet {

namespace {

enum class Uses { nothing, input, output };

// Records y = fwd(x) with dx = bwd(gy, x, y); x and y are only kept when `uses` asks for them.
template <class Fwd, class Bwd>
Var unary(const char* name, const Var& x, Fwd&& fwd, Bwd bwd, Uses uses) {
    Value y = ops::map_value(x, std::forward<Fwd>(fwd));
    SavedVar saved_x = uses == Uses::input ? SavedVar(x, 0) : SavedVar();
    const bool uses_output = uses == Uses::output;
    return record(
        name, std::move(y), {&x},
        [saved_x, bwd, uses_output](const Var& gy, const BackwardContext& ctx) -> Grads {
            return {bwd(gy, saved_x.unpack(ctx), uses_output ? ctx.output() : Var())};
        },
        uses == Uses::output ? SaveOutput::yes : SaveOutput::no);
}

// 1 where x > 0, else 0, as a constant of x's dtype.
Var positive_mask(const Var& x) {
    return ops::constant_like(x, [](const auto& t) {
        using T = typename std::decay_t<decltype(t)>::value_type;
        return xt::cast<T>(t > T(0));
    });
}

}  // namespace

// d(-x)/dx = -1
Var neg(const Var& x) {
    return unary("neg", x, [](const auto& t) { return map_elements(t, [](auto v) { return -v; }); }, [](const Var& gy, const Var&, const Var&) { return neg(gy); },
                 Uses::nothing);
}
// d e^x/dx = e^x
Var exp(const Var& x) {
    return unary("exp", x, [](const auto& t) { return xt::exp(t); },
                 [](const Var& gy, const Var&, const Var& y) { return gy * y; }, Uses::output);
}
// d log x/dx = 1/x
Var log(const Var& x) {
    return unary("log", x, [](const auto& t) { return xt::log(t); },
                 [](const Var& gy, const Var& x, const Var&) { return gy / x; }, Uses::input);
}
// d sqrt(x)/dx = 1 / (2 sqrt(x))
Var sqrt(const Var& x) {
    return unary("sqrt", x, [](const auto& t) { return xt::sqrt(t); },
                 [](const Var& gy, const Var&, const Var& y) { return gy * 0.5 / y; }, Uses::output);
}
// d x^2/dx = 2x
Var square(const Var& x) {
    return unary("square", x, [](const auto& t) { return map_elements(t, [](auto v) { return v * v; }); },
                 [](const Var& gy, const Var& x, const Var&) { return gy * x * 2.0; }, Uses::input);
}
// d|x|/dx = sign(x), 0 at 0
Var abs(const Var& x) {
    return unary("abs", x, [](const auto& t) { return xt::abs(t); },
                 [](const Var& gy, const Var& x, const Var&) {
                     return gy * ops::constant_like(x, [](const auto& t) { return xt::sign(t); });
                 },
                 Uses::input);
}
// d tanh(x)/dx = 1 - tanh(x)^2, applied by the fused tanh_backward (one pass instead of three).
Var tanh(const Var& x) {
    return unary("tanh", x, [](const auto& t) { return xt::tanh(t); },
                 [](const Var& gy, const Var&, const Var& y) { return tanh_backward(gy, y); }, Uses::output);
}

// tanh_backward(g, y) = g (1 - y^2):  d/dg = 1 - y^2 (itself again),  d/dy = -2 g y.
Var tanh_backward(const Var& gy, const Var& y) {
    if (gy.shape() != y.shape()) {
        throw ShapeError("tanh_backward", "shapes differ: " + shape_str(gy.shape()) + " and " + shape_str(y.shape()));
    }
    Value out = ops::map_values(gy, y, "tanh_backward", [](const auto& g, const auto& t) {
        using T = typename std::decay_t<decltype(g)>::value_type;
        return broadcast_apply(g, t, [](T a, T b) { return a * (T(1) - b * b); }, "tanh_backward");
    });
    return record("tanh_backward", std::move(out), {&gy, &y},
                  [gy = SavedVar(gy, 0), y = SavedVar(y, 1)](const Var& g, const BackwardContext& ctx) -> Grads {
                      const Var& vy = y.unpack(ctx);
                      return {ctx.needs(0) ? tanh_backward(g, vy) : Var(),
                              ctx.needs(1) ? g * gy.unpack(ctx) * vy * -2.0 : Var()};
                  });
}
// d sigmoid(x)/dx = sigmoid(x) (1 - sigmoid(x))
Var sigmoid(const Var& x) {
    return unary("sigmoid", x,
                 [](const auto& t) {
                     using T = typename std::decay_t<decltype(t)>::value_type;
                     return T(1) / (T(1) + xt::exp(-t));
                 },
                 [](const Var& gy, const Var&, const Var& y) { return gy * y * (1.0 - y); }, Uses::output);
}
// d relu(x)/dx = [x > 0]; the mask is a constant, so the second derivative is 0.
Var relu(const Var& x) {
    return unary("relu", x,
                 [](const auto& t) {
                     using T = typename std::decay_t<decltype(t)>::value_type;
                     return xt::maximum(t, T(0));
                 },
                 [](const Var& gy, const Var& x, const Var&) { return gy * positive_mask(x); }, Uses::input);
}
// softplus(x) = log(1 + e^x) = max(x, 0) + log1p(e^-|x|);  d/dx = sigmoid(x)
Var softplus(const Var& x) {
    return unary("softplus", x,
                 [](const auto& t) {
                     using T = typename std::decay_t<decltype(t)>::value_type;
                     return xt::maximum(t, T(0)) + xt::log1p(xt::exp(-xt::abs(t)));
                 },
                 [](const Var& gy, const Var& x, const Var&) { return gy * sigmoid(x); }, Uses::input);
}
// elu(x) = x for x > 0, alpha (e^x - 1) otherwise;  d/dx = 1 for x > 0, elu(x) + alpha otherwise
Var elu(const Var& x, double alpha) {
    return unary("elu", x,
                 [alpha](const auto& t) {
                     using T = typename std::decay_t<decltype(t)>::value_type;
                     return xt::where(t > T(0), t, T(alpha) * (xt::exp(t) - T(1)));
                 },
                 [alpha](const Var& gy, const Var& x, const Var&) {
                     Var mask = positive_mask(x);
                     // Written with exp(x) rather than the saved output so that x alone is kept.
                     return gy * (mask + (1.0 - mask) * exp(x) * alpha);
                 },
                 Uses::input);
}
// d sin(x)/dx = cos(x)
Var sin(const Var& x) {
    return unary("sin", x, [](const auto& t) { return xt::sin(t); },
                 [](const Var& gy, const Var& x, const Var&) { return gy * cos(x); }, Uses::input);
}
// d cos(x)/dx = -sin(x)
Var cos(const Var& x) {
    return unary("cos", x, [](const auto& t) { return xt::cos(t); },
                 [](const Var& gy, const Var& x, const Var&) { return -(gy * sin(x)); }, Uses::input);
}
// d x^p/dx = p x^(p-1)
Var pow(const Var& x, double p) {
    if (p == 2.0) return square(x);
    return unary("pow", x,
                 [p](const auto& t) {
                     using T = typename std::decay_t<decltype(t)>::value_type;
                     return xt::pow(t, T(p));
                 },
                 [p](const Var& gy, const Var& x, const Var&) { return gy * pow(x, p - 1.0) * p; }, Uses::input);
}

// ---- scalar operands ----
Var add(const Var& x, double s) {
    return unary("add_scalar", x,
                 [s](const auto& t) {
                     using T = typename std::decay_t<decltype(t)>::value_type;
                     return map_elements(t, [c = T(s)](T v) { return v + c; });
                 },
                 [](const Var& gy, const Var&, const Var&) { return gy; }, Uses::nothing);
}
Var mul(const Var& x, double s) {
    return unary("mul_scalar", x,
                 [s](const auto& t) {
                     using T = typename std::decay_t<decltype(t)>::value_type;
                     return map_elements(t, [c = T(s)](T v) { return v * c; });
                 },
                 [s](const Var& gy, const Var&, const Var&) { return mul(gy, s); }, Uses::nothing);
}
// d(s - x)/dx = -1
Var rsub(double s, const Var& x) {
    return unary("rsub_scalar", x,
                 [s](const auto& t) {
                     using T = typename std::decay_t<decltype(t)>::value_type;
                     return map_elements(t, [c = T(s)](T v) { return c - v; });
                 },
                 [](const Var& gy, const Var&, const Var&) { return neg(gy); }, Uses::nothing);
}
// d(s / x)/dx = -s / x^2
Var rdiv(double s, const Var& x) {
    return unary("rdiv_scalar", x,
                 [s](const auto& t) {
                     using T = typename std::decay_t<decltype(t)>::value_type;
                     return map_elements(t, [c = T(s)](T v) { return c / v; });
                 },
                 [s](const Var& gy, const Var& x, const Var&) { return mul(gy / square(x), -s); }, Uses::input);
}

Var operator-(const Var& x) { return neg(x); }
Var operator+(const Var& x, double s) { return add(x, s); }
Var operator+(double s, const Var& x) { return add(x, s); }
Var operator-(const Var& x, double s) { return add(x, -s); }
Var operator-(double s, const Var& x) { return rsub(s, x); }
Var operator*(const Var& x, double s) { return mul(x, s); }
Var operator*(double s, const Var& x) { return mul(x, s); }
Var operator/(const Var& x, double s) { return mul(x, 1.0 / s); }
Var operator/(double s, const Var& x) { return rdiv(s, x); }

}  // namespace odenet
