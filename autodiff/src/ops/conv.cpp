// conv2d and its two gradient ops as recorded Vars. The kernels (two algorithms, their
// workspaces and geometry) are plain-tensor functions in core (core/conv2d.hpp); this file checks
// the Var arguments, records each op and names its backward.
//
// Note [Convolution as three linear maps]
// y = B(x, w) is bilinear. Its two partial adjoints are
//   conv2d_input_grad(g, w)  = (∂B/∂x)ᵀ g   (im2col's adjoint, col2im, of wᵀ g)
//   conv2d_weight_grad(x, g) = (∂B/∂w)ᵀ g   (g colsᵀ)
// Each of the three is bilinear in its two tensor arguments, and the adjoints of each are the
// other two (⟨gg, I(g, w)⟩ = ⟨B(gg, w), g⟩, ⟨gg, W(x, g)⟩ = ⟨B(x, gg), g⟩), so each op's
// backward is written with the others and every order of derivative exists.
#include "odenet/core/conv2d.hpp"

#include "dispatch.hpp"
#include "odenet/autodiff/ops.hpp"
#include "odenet/autodiff/record.hpp"

namespace odenet {

// See Note [Convolution as three linear maps]. d bias = g summed over (N, H', W').
Var conv2d(const Var& x, const Var& weight, const Var& bias, Conv2dOptions options) {
    const Conv2dGeometry g = conv2d_geometry(x.shape(), weight.shape(), options, "conv2d");
    const bool has_bias = bias.defined();
    if (has_bias) {
        ops::check_same_dtype(x, bias, "conv2d");
        if (bias.shape() != Shape{g.o}) {
            throw ShapeError("conv2d", "bias has shape " + shape_str(bias.shape()) + " but weight " +
                                           shape_str(weight.shape()) + " needs (" + std::to_string(g.o) + ")");
        }
    }
    Value y = ops::map_values(x, weight, "conv2d", [&](const auto& tx, const auto& tw) {
        using T = typename std::decay_t<decltype(tx)>::value_type;
        return conv2d_forward(g, tx, tw, has_bias ? bias.value<T>().data() : nullptr);
    });
    // The shapes are kept apart so that each gradient unpacks only the value it reads.
    auto backward = [in_shape = x.shape(), w_shape = weight.shape(), x = SavedVar(x, 0), weight = SavedVar(weight, 1),
                     options, has_bias](const Var& gy, const BackwardContext& ctx) -> Grads {
        Grads r(has_bias ? 3 : 2);
        if (ctx.needs(0)) r[0] = conv2d_input_grad(gy, weight.unpack(ctx), in_shape, options);
        if (ctx.needs(1)) r[1] = conv2d_weight_grad(x.unpack(ctx), gy, w_shape, options);
        if (has_bias && ctx.needs(2)) r[2] = sum(gy, {0, 2, 3});
        return r;
    };
    if (has_bias) return record("conv2d", std::move(y), {&x, &weight, &bias}, std::move(backward));
    return record("conv2d", std::move(y), {&x, &weight}, std::move(backward));
}

// ⟨gg, I(g, w)⟩ = ⟨B(gg, w), g⟩: d/dg = conv2d(gg, w), d/dw = conv2d_weight_grad(gg, g).
Var conv2d_input_grad(const Var& gy, const Var& weight, const Shape& input_shape, Conv2dOptions options) {
    const Conv2dGeometry g = conv2d_geometry(input_shape, weight.shape(), options, "conv2d_input_grad");
    check_conv2d_output_shape(g, gy.shape(), "conv2d_input_grad");
    Value dx = ops::map_values(gy, weight, "conv2d_input_grad",
                               [&](const auto& tg, const auto& tw) { return conv2d_input_grad(g, tg, tw); });
    return record("conv2d_input_grad", std::move(dx), {&gy, &weight},
                  [w_shape = weight.shape(), gy = SavedVar(gy, 0), weight = SavedVar(weight, 1), options](
                      const Var& gg, const BackwardContext& ctx) -> Grads {
                      return {ctx.needs(0) ? conv2d(gg, weight.unpack(ctx), Var(), options) : Var(),
                              ctx.needs(1) ? conv2d_weight_grad(gg, gy.unpack(ctx), w_shape, options) : Var()};
                  });
}

// ⟨gg, W(x, g)⟩ = ⟨B(x, gg), g⟩: d/dx = conv2d_input_grad(g, gg), d/dg = conv2d(x, gg).
Var conv2d_weight_grad(const Var& x, const Var& gy, const Shape& weight_shape, Conv2dOptions options) {
    const Conv2dGeometry g = conv2d_geometry(x.shape(), weight_shape, options, "conv2d_weight_grad");
    check_conv2d_output_shape(g, gy.shape(), "conv2d_weight_grad");
    Value dw = ops::map_values(x, gy, "conv2d_weight_grad",
                               [&](const auto& tx, const auto& tg) { return conv2d_weight_grad(g, tx, tg); });
    return record("conv2d_weight_grad", std::move(dw), {&x, &gy},
                  [in_shape = x.shape(), x = SavedVar(x, 0), gy = SavedVar(gy, 1), options](
                      const Var& gg, const BackwardContext& ctx) -> Grads {
                      return {ctx.needs(0) ? conv2d_input_grad(gy.unpack(ctx), gg, in_shape, options) : Var(),
                              ctx.needs(1) ? conv2d(x.unpack(ctx), gg, Var(), options) : Var()};
                  });
}

}  // namespace odenet
