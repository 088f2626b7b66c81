#pragma once
// The four models of the Neural ODE paper's Table 2 (Chen et al. 2018, section 5.1), behind one
// interface so that training, evaluation and the figures treat them alike:
//   latent_ode  recognition RNN (25 tanh units) read backwards over (observation, time since the
//               previous observation, or since t = 0 for the first) pairs -> q(z0) = N(μ, σ²) in 4 dimensions; z0 ~ q by reparameterisation; latent
//               dynamics dz/dt = MLP(z) (4-20-4, ELU); decoder 4-20-2 (ReLU); loss: the negative
//               ELBO, −log N(x; decoder(z(t)), 0.3²) summed over the observations + KL(q ‖ N(0, I))
//   ode_rnn     the same latent ODE with Rubanova, Chen & Duvenaud's (2019) ODE-RNN as encoder:
//               read backwards, the hidden state is carried between observations by its own ODE
//               (25-25-25, tanh) and updated by a GRU cell at each observation. The hidden
//               ODE takes one RK4 step per gap (4 evaluations; gaps are under 2 time units
//               and the encoder learns around its own discretisation): dopri5 at the model's
//               tolerance cost about 20 evaluations per gap, 5x the training time, for an
//               encoder whose output is only a distribution to sample from. Its gradient is
//               always direct backprop through that step, whatever the model's mode
//   rnn         the paper's baseline: an RNN (25 tanh units) and a linear read-out, trained on the
//               Gaussian negative log-likelihood of the next observation (noise 0.3)
//   rnn_dt      the same with the time gap to the next observation as an extra input
// Extrapolation: the latent models solve their ODE from the encoded z0 (its mean) to the query
// times; the RNNs feed their own predictions back as inputs.
#include <memory>
#include <string>
#include <vector>

#include "odenet/autodiff/var.hpp"
#include "odenet/core/random.hpp"
#include "odenet/nn/module.hpp"
#include "odenet/odeint/odeint.hpp"

namespace odenet::latent_ode {

/// A batch of spirals, each observed at its own n increasing times (every spiral has n).
struct Observations {
    Var values;                              ///< (n, batch, 2), in time order
    std::vector<std::vector<double>> times;  ///< per spiral, its n times
};

/// 0, 1, ..., count - 1: the rows of a whole set, for observe.
std::vector<std::size_t> first_rows(std::size_t count);

/// Rows `rows` of points (count, window, 2) at the window indices `at[row]`, in `dtype`.
Observations observe(const Tensor<double>& points, const std::vector<double>& grid,
                     const std::vector<std::vector<std::size_t>>& at, const std::vector<std::size_t>& rows, Dtype dtype);

/// "latent_ode", "ode_rnn", "rnn", "rnn_dt".
const std::vector<std::string>& model_names();

struct ModelOptions {
    std::string kind = "latent_ode";
    Dtype dtype = Dtype::float64;
    std::size_t latent = 4, hidden = 20, rnn_hidden = 25;  ///< the paper's sizes
    double noise_std = 0.3;                                ///< the likelihood's, the data's
    ode::OdeintOptions odeint{};                           ///< every ODE solve of the model
};

class SeriesModel : public nn::Module {
public:
    /// The training loss of one batch, a mean over its spirals: the negative ELBO (latent
    /// models; z0 drawn from `gen`) or the next-observation negative log-likelihood (RNNs).
    virtual Var loss(const Observations& obs, Generator& gen) = 0;
    /// Predictions (batch, Q, 2) at the increasing times `query` from the observations. The RNNs
    /// need every query after the last observation; the latent models take any times >= 0.
    /// ValueError otherwise, or when `query` does not increase.
    virtual Var predict(const Observations& obs, const std::vector<double>& query) = 0;
    /// True for the latent models (they have latent_path).
    virtual bool is_latent() const { return false; }
    /// The latent trajectory (Q, batch, latent) from the encoded mean of z0 (latent models).
    virtual Var latent_path(const Observations& obs, const std::vector<double>& query);
    /// Function evaluations of the ODE solves since the last loss(): forward, and backward once
    /// backward has run (zeros for the RNNs).
    double nfe_forward() const;
    double nfe_backward() const;

    /// Saved with the weights (buffers), so that a resumed run continues where it stopped and
    /// refuses a checkpoint of another configuration.
    long iterations_done() const;
    void set_iterations_done(long iterations);
    std::vector<double> run_config() const;
    void set_run_config(const std::vector<double>& values);

protected:
    SeriesModel();
    std::vector<ode::OdeintSolution> solves_;

private:
    Var iterations_done_, run_config_;
};

/// One of model_names(), initialised from the default generator. ValueError for another name.
std::shared_ptr<SeriesModel> make_model(const ModelOptions& options);

}  // namespace odenet::latent_ode
