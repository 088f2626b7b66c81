// Group normalisation (Wu & He, 2018, "Group Normalization", ECCV, eq. 1-3), composed from
// differentiable ops: the backward, and every higher derivative, come from theirs. A fused
// kernel would save a few passes over the activations, but conv2d dominates the ODE-Net's cost
// by two orders of magnitude, so the composite stays until a profile says otherwise.
#include "dispatch.hpp"
#include "odenet/autodiff/ops.hpp"

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

}  // namespace

// y = (x - μ_g) / sqrt(σ²_g + eps) · weight_c + bias_c, with μ_g and the biased variance σ²_g
// taken over the channels of group g and all spatial positions (as PyTorch).
Var group_norm(const Var& x, std::size_t groups, const Var& weight, const Var& bias, double eps) {
    if (x.dim() < 2) throw ShapeError("group_norm", "needs an (N, C, ...) input, got " + shape_str(x.shape()));
    const std::size_t n = x.shape()[0], c = x.shape()[1];
    if (groups == 0 || c % groups != 0) {
        throw ShapeError("group_norm", "input " + shape_str(x.shape()) + " has " + std::to_string(c) +
                                           " channels, not divisible into " + std::to_string(groups) + " groups");
    }
    check_affine(weight, x, "weight");
    check_affine(bias, x, "bias");
    const std::size_t per_group = n * groups == 0 ? 0 : x.numel() / (n * groups);
    Var xg = reshape(x, {n, groups, per_group});
    Var centred = xg - mean(xg, {2}, true);
    Var variance = mean(square(centred), {2}, true);
    Var y = reshape(centred / sqrt(variance + eps), x.shape());
    Shape per_channel(x.dim(), 1);
    per_channel[1] = c;
    if (weight.defined()) y = y * reshape(weight, per_channel);
    if (bias.defined()) y = y + reshape(bias, per_channel);
    return y;
}

}  // namespace odenet
