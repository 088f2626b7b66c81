// group_norm as a recorded Var (Wu & He, 2018, "Group Normalization", ECCV, eq. 1-3). The fused
// forward and backward kernels are plain-tensor functions in core (core/group_norm.hpp, Note
// [Fused group norm]); this file checks the Var arguments, records the op and names its backward.
//
// Note [Two group norm backwards]
// The backward exists twice, with the same formula (Note [Fused group norm]): the fused kernel,
// a single pass that records nothing, and composite_backward below, written in differentiable
// ops. When the backward itself is being recorded (create_graph, grad mode on), the composite
// runs, so every higher derivative comes from the ops' own formulas; otherwise the fused kernel
// gives the same numbers at a fraction of the passes and allocations.
#include "odenet/core/group_norm.hpp"

#include "dispatch.hpp"
#include "odenet/autodiff/grad_mode.hpp"
#include "odenet/autodiff/ops.hpp"
#include "odenet/autodiff/record.hpp"

namespace odenet {

namespace {

void check_affine(const Var& p, const Var& x, const char* what) {
    if (!p.defined()) return;
    ops::check_same_dtype(x, p, "group_norm");
    if (p.shape() != Shape{x.shape()[1]}) {
        throw ShapeError("group_norm", std::string(what) + " has shape " + shape_str(p.shape()) + " but input " +
                                           shape_str(x.shape()) + " needs (" + std::to_string(x.shape()[1]) + ")");
    }
}

Shape per_channel_shape(const Var& x) {
    Shape s(x.dim(), 1);
    s[1] = x.shape()[1];
    return s;
}

// The backward of Note [Fused group norm] in differentiable ops (used under create_graph).
Grads composite_backward(const Var& x, const Var& weight, const Var& gy, const GroupNormLayout& L, double eps,
                         bool has_w, bool has_b) {
    const Shape grouped{L.n, L.groups, L.per_group()};
    std::vector<int> reduce_axes{0};
    for (std::size_t a = 2; a < x.dim(); ++a) reduce_axes.push_back(int(a));
    Var xg = reshape(x, grouped);
    Var centred = xg - mean(xg, {2}, true);
    Var rstd = 1.0 / sqrt(mean(square(centred), {2}, true) + eps);
    Var xhat = centred * rstd;  // grouped
    Var gh = has_w ? gy * reshape(weight, per_channel_shape(x)) : gy;
    Var ghg = reshape(gh, grouped);
    Var dx = rstd * (ghg - mean(ghg, {2}, true) - xhat * mean(ghg * xhat, {2}, true));
    Grads r{reshape(dx, x.shape())};
    if (has_w) r.push_back(sum(gy * reshape(xhat, x.shape()), reduce_axes));
    if (has_b) r.push_back(sum(gy, reduce_axes));
    return r;
}

// The fused kernel's gradients as Vars, undefined where not asked for.
Grads fused_backward(const Var& x, const Var& weight, const Var& gy, const GroupNormLayout& L, double eps,
                     GroupNormNeeds needs, bool has_w, bool has_b) {
    return x.value().visit([&](const auto& tx) {
        using T = typename std::decay_t<decltype(tx)>::value_type;
        GroupNormGrads<T> t = group_norm_backward(L, tx, gy.value<T>(), has_w ? weight.value<T>().data() : nullptr, eps, needs);
        auto as_var = [](std::optional<Tensor<T>>& v) { return v ? Var(std::move(*v)) : Var(); };
        Grads r{as_var(t.dx)};
        if (has_w) r.push_back(as_var(t.dweight));
        if (has_b) r.push_back(as_var(t.dbias));
        return r;
    });
}

}  // namespace

// y = (x - μ_g) / sqrt(σ²_g + eps) · weight_c + bias_c, with μ_g and the biased variance σ²_g
// taken over the channels of group g and all spatial positions (as PyTorch).
// See Note [Two group norm backwards].
Var group_norm(const Var& x, std::size_t groups, const Var& weight, const Var& bias, double eps) {
    const GroupNormLayout L = group_norm_layout(x.shape(), groups);
    check_affine(weight, x, "weight");
    check_affine(bias, x, "bias");
    const bool has_w = weight.defined(), has_b = bias.defined();
    Value y = ops::map_value(x, [&](const auto& tx) {
        using T = typename std::decay_t<decltype(tx)>::value_type;
        return group_norm_forward(L, tx, has_w ? weight.value<T>().data() : nullptr,
                                  has_b ? bias.value<T>().data() : nullptr, eps);
    });
    auto backward = [sx = SavedVar(x, 0), sw = has_w ? SavedVar(weight, 1) : SavedVar(), L, eps, has_w, has_b](
                        const Var& gy, const BackwardContext& ctx) -> Grads {
        const Var& x = sx.unpack(ctx);
        const Var& weight = sw.unpack(ctx);
        if (GradMode::enabled()) return composite_backward(x, weight, gy, L, eps, has_w, has_b);
        const GroupNormNeeds needs{ctx.needs(0), has_w && ctx.needs(1), has_b && ctx.needs(has_w ? 2 : 1)};
        return fused_backward(x, weight, gy, L, eps, needs, has_w, has_b);
    };
    std::vector<Var> inputs{x};
    if (has_w) inputs.push_back(weight);
    if (has_b) inputs.push_back(bias);
    return record("group_norm", std::move(y), inputs, std::move(backward));
}

}  // namespace odenet
