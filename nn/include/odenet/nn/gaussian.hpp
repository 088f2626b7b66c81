#pragma once
// Gaussian pieces for variational models (a VAE's or a latent ODE's ELBO; Kingma & Welling 2014,
// ICLR): a diagonal Normal given by its mean and log-variance, its reparameterised samples, the
// closed-form KL divergence between two of them, and the Gaussian log-likelihood of observations
// with a fixed or learned noise scale and a mask for padding.
//
// Normal, log_prob and kl_divergence work entry by entry, as torch.distributions.Normal: a
// diagonal Gaussian over some axes is the sum over those axes. gaussian_log_likelihood sums for
// you (every axis but the first, as gaussian_log_density) because it also applies the mask.
// All are composed from existing differentiable ops: gradients of every order, no new op.
#include <cstddef>

#include "odenet/autodiff/var.hpp"
#include "odenet/core/random.hpp"

namespace odenet::nn {

/// Independent normals N(mean, exp(log_var)) entry by entry: a diagonal Gaussian.
class Normal {
public:
    /// mean and log_var of one shape and dtype: ShapeError / DtypeError naming Normal and both.
    Normal(Var mean, Var log_var);
    /// N(0, I) of `shape` (the usual prior).
    static Normal standard(const Shape& shape, Dtype dtype = Dtype::float64);

    const Var& mean() const { return mean_; }
    const Var& log_var() const { return log_var_; }
    const Shape& shape() const { return mean_.shape(); }
    Dtype dtype() const { return mean_.dtype(); }
    /// exp(log_var / 2).
    Var stddev() const;

    /// log N(x; mean, σ²) = −½ ((x − mean)² e^(−log_var) + log_var + log 2π), entry by entry;
    /// x broadcasts against the Normal (samples (n, ...) against a Normal of shape (...)).
    /// ShapeError naming Normal::log_prob and both shapes when they do not broadcast;
    /// DtypeError for another dtype.
    Var log_prob(const Var& x) const;
    /// mean + exp(log_var / 2) ⊙ ε with ε ~ N(0, I) from `gen`, in the Normal's shape:
    /// differentiable in mean and log_var (the reparameterisation trick).
    Var rsample(Generator& gen = default_generator()) const;
    /// n samples at once: (n, shape...).
    Var rsample(std::size_t n, Generator& gen = default_generator()) const;
    /// mean + exp(log_var / 2) ⊙ eps for a given standard-normal eps that broadcasts against
    /// the Normal (ShapeError otherwise): the same map, for callers that keep their noise.
    Var rsample_with(const Var& eps) const;

private:
    Var mean_, log_var_;
};

/// KL(q ‖ p) entry by entry, in closed form:
/// ½ (e^(lv_q − lv_p) + (μ_q − μ_p)² e^(−lv_p) − 1 + lv_p − lv_q), lv = log-variance.
/// q and p broadcast against each other (ShapeError naming kl_divergence and both shapes
/// otherwise) and share a dtype (DtypeError).
Var kl_divergence(const Normal& q, const Normal& p);

/// Σ log N(x; mean, noise_std²) over every axis of x but the first, counting only the entries
/// where `mask` is 1: shape (N,) for x (N, ...) ((N,) itself for x (N,)). mean broadcasts to x's
/// shape; mask (0/1, either dtype, undefined = all) too, so a (N, T, 1) mask drops whole time
/// points. Masked entries of x and mean reach neither the value nor any gradient, even when they
/// are NaN. Throws ShapeError naming gaussian_log_likelihood and the shape that does not
/// broadcast, ValueError for noise_std not positive and finite or a mask entry other than 0 or 1.
Var gaussian_log_likelihood(const Var& x, const Var& mean, double noise_std, const Var& mask = {});
/// The same with a learned noise scale σ = exp(log_noise_std): log_noise_std broadcasts to x's
/// shape (() or (1) for one scale, (D) for one per feature) and receives its gradient.
Var gaussian_log_likelihood(const Var& x, const Var& mean, const Var& log_noise_std, const Var& mask = {});

}  // namespace odenet::nn
