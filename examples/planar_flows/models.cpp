// The planar NF and planar CNF behind one interface. See models.hpp.
#include "planar_flows/models.hpp"

#include "odenet/autodiff/grad_mode.hpp"
#include "odenet/autodiff/ops.hpp"
#include "planar_flows/targets.hpp"

namespace odenet::planar_flows {

PlanarModel::PlanarModel(const ModelConfig& config) : config_(config) {
    if (config.family == Family::nf) {
        nf_ = std::make_unique<nn::PlanarFlow>(2, config.size, config.dtype);
    } else {
        auto f = std::make_shared<nn::HyperPlanar>(
            2, nn::HyperPlanarOptions{.width = config.size, .hidden = config.hidden, .dtype = config.dtype});
        // T = 1 fixed: the hypernetwork already learns how fast each unit acts, through its gate.
        cnf_ = std::make_unique<nn::CNF>(
            f, 2,
            nn::CNFOptions{.end_time = 1.0,
                           .learn_end_time = false,
                           .odeint = {.solver = {.rtol = config.rtol, .atol = config.atol}, .grad = config.grad}});
    }
}

Var PlanarModel::base_draws(std::size_t n, Generator& gen) const {
    return to_dtype(Var(randn<double>({n, 2}, gen)), config_.dtype);
}

// q is the push-forward of N(0, I). NF: x = T(z), log q(x) = log N(z) − log|det ∂T/∂z|.
// CNF: x = z(0) from z(1) = z, log q(x) = log N(z) + Δ, Δ the log-density change of the inverse solve.
Var PlanarModel::kl_loss(const std::string& target, std::size_t n, Generator& gen) {
    return mean(kl_terms(target, n, gen));
}

Var PlanarModel::kl_terms(const std::string& target, std::size_t n, Generator& gen) {
    const Var z = base_draws(n, gen);
    Var x, log_q;
    if (nf_) {
        auto [image, log_det] = nf_->forward(z);
        x = image;
        log_q = gaussian_log_density(z) - log_det;
    } else {
        nn::FlowResult r = cnf_->inverse(z);
        x = r.z;
        log_q = gaussian_log_density(z) + r.delta_logp;
    }
    return log_q + energy(target, x);
}

// NF for data: z = T(x), log p(x) = log N(z) + log|det ∂T/∂x|; the CNF's log_prob as it is.
Var PlanarModel::nll_loss(const Var& data) {
    if (nf_) {
        auto [z, log_det] = nf_->forward(data);
        return -mean(gaussian_log_density(z) + log_det);
    }
    return -mean(cnf_->log_prob(data));
}

Tensor<double> PlanarModel::log_density(const Tensor<double>& points) {
    NoGradGuard no_grad;
    const Var x = to_dtype(Var(points), config_.dtype);
    Var log_p;
    if (cnf_) {
        log_p = cnf_->log_prob(x, nn::Trace::exact);
    } else if (config_.objective == Objective::ml) {
        auto [z, log_det] = nf_->forward(x);
        log_p = gaussian_log_density(z) + log_det;
    } else {  // q = T#N: back through T to the base point, then forward for the log-determinant
        const Var z = nf_->inverse(x);
        log_p = gaussian_log_density(z) - nf_->forward(z).log_det;
    }
    return to_dtype(log_p, Dtype::float64).value<double>();
}

Tensor<double> PlanarModel::samples(std::size_t n, Generator& gen) {
    NoGradGuard no_grad;
    Var x;
    if (cnf_) {
        x = cnf_->sample(n, gen);
    } else {
        const Var z = base_draws(n, gen);
        x = config_.objective == Objective::kl ? nf_->forward(z).z : nf_->inverse(z);
    }
    return to_dtype(x, Dtype::float64).value<double>();
}

nn::Module& PlanarModel::module() { return nf_ ? static_cast<nn::Module&>(*nf_) : static_cast<nn::Module&>(*cnf_); }

std::string PlanarModel::label() const {
    return (nf_ ? "NF K=" : "CNF M=") + std::to_string(config_.size);
}

std::size_t PlanarModel::last_nfe() const { return cnf_ ? cnf_->last_nfe() : 0; }
std::size_t PlanarModel::last_backward_nfe() const { return cnf_ ? cnf_->last_backward_nfe() : 0; }

}  // namespace odenet::planar_flows
