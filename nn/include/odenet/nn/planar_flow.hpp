#pragma once
// Planar normalizing flow (Rezende & Mohamed, 2015, "Variational inference with normalizing
// flows", ICML, section 4.1): K layers, each
//     f(z) = z + û tanh(wᵀz + b),      log|det ∂f/∂z| = log|1 + ûᵀψ(z)|,  ψ(z) = (1 − tanh²(wᵀz + b)) w,
// the baseline the Neural ODE paper compares its planar CNF against (hyper_planar.hpp).
// f is invertible when wᵀû >= −1 (their Appendix A); the layer keeps it so by using, in place of
// the free parameter u,
//     û = u + (m(wᵀu) − wᵀu) w / |w|²,     m(x) = −1 + log(1 + eˣ),
// so that wᵀû = m(wᵀu) > −1 for every u.
//
// The flow T = f_K ∘ … ∘ f_1 is one map; which side is data is the user's choice:
//  - density matching, q = T#N(0, I): z ~ N(0, I), [x, ld] = forward(z),
//    log q(x) = log N(z) − ld, differentiable in the parameters (reparameterised samples);
//    the density at given points x needs z = inverse(x) (a value, no gradient).
//  - maximum likelihood on data x: [z, ld] = forward(x), log p(x) = log N(z) + ld;
//    samples are inverse(z) for z ~ N(0, I).
#include <cstddef>

#include "odenet/nn/module.hpp"

namespace odenet::nn {

struct PlanarFlowResult {
    Var z;        ///< T(x): (N, d)
    Var log_det;  ///< Σ_k log|det ∂f_k/∂z| along the way: (N,)
};

class PlanarFlow : public Module {
public:
    /// K = layers planar layers on R^dim, u and w drawn from N(0, init_scale²), b = 0. ValueError
    /// for dim or layers of 0 or a scale that is not finite and > 0.
    PlanarFlow(std::size_t dim, std::size_t layers, Dtype dtype = Dtype::float64, double init_scale = 0.1);

    /// T(x) and its log-determinant, for x (N, dim); ShapeError naming PlanarFlow otherwise.
    PlanarFlowResult forward(const Var& x);
    /// T⁻¹(y) for y (N, dim), a value (not differentiable). Each layer is inverted through the
    /// scalar s = wᵀz + b, which solves s + (wᵀû) tanh(s) = wᵀy + b: a non-decreasing function of
    /// s (as wᵀû >= −1) whose root lies within |wᵀû| of wᵀy + b, found by bisection to the last bit.
    Var inverse(const Var& y) const;

    /// The constrained û of every layer, (K, dim): wᵀû >= −1 row by row.
    Var u_hat() const;
    std::size_t dim() const { return dim_; }
    std::size_t layers() const { return layers_; }

    Var u;  ///< (K, dim), free
    Var w;  ///< (K, dim)
    Var b;  ///< (K)

private:
    std::size_t dim_, layers_;
};

}  // namespace odenet::nn
