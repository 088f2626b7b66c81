#pragma once
// The two model families of the comparison behind one interface: a planar normalizing flow of K
// layers (nn::PlanarFlow) and a planar CNF of M gated hypernetwork units (nn::HyperPlanar in an
// nn::CNF on t in [0, 1]), each trained either by density matching, KL(q‖p) with
// q the model and p ∝ exp(−U), or by maximum likelihood on samples.
#include <cstddef>
#include <memory>
#include <string>

#include "odenet/core/random.hpp"
#include "odenet/nn/cnf.hpp"
#include "odenet/nn/hyper_planar.hpp"
#include "odenet/nn/planar_flow.hpp"

namespace odenet::planar_flows {

enum class Family { nf, cnf };
enum class Objective { kl, ml };

struct ModelConfig {
    Family family = Family::cnf;
    std::size_t size = 32;         ///< K layers (nf) or M units (cnf)
    Objective objective = Objective::kl;
    std::size_t hidden = 32;       ///< the CNF hypernetwork's width
    double rtol = 1e-5, atol = 1e-5;
    ode::Grad grad = ode::Grad::adjoint;
    Dtype dtype = Dtype::float64;
};

class PlanarModel {
public:
    explicit PlanarModel(const ModelConfig& config);

    /// The training loss on one batch: for kl, mean over n base draws of log q(x) + U(x)
    /// (KL(q‖p) − log Z); for ml, −mean log p(x) of data (N, 2). Differentiable in parameters().
    Var kl_loss(const std::string& target, std::size_t n, Generator& gen);
    /// The terms log q(x) + U(x) of kl_loss, one per base draw: (n,). Their spread gives the
    /// standard error of a KL estimate.
    Var kl_terms(const std::string& target, std::size_t n, Generator& gen);
    Var nll_loss(const Var& data);

    /// log of the model's density at points (N, 2) and n samples of it, as values.
    Tensor<double> log_density(const Tensor<double>& points);
    Tensor<double> samples(std::size_t n, Generator& gen);

    nn::Module& module();
    /// "NF K=32" / "CNF M=32".
    std::string label() const;
    /// Function evaluations of the last forward and backward solve (0 for the NF).
    std::size_t last_nfe() const;
    std::size_t last_backward_nfe() const;
    const ModelConfig& config() const { return config_; }

private:
    Var base_draws(std::size_t n, Generator& gen) const;

    ModelConfig config_;
    std::unique_ptr<nn::PlanarFlow> nf_;
    std::unique_ptr<nn::CNF> cnf_;
};

}  // namespace odenet::planar_flows
