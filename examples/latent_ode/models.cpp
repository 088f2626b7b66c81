#include "odenet/latent_ode/models.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "odenet/autodiff/ops.hpp"
#include "odenet/core/error.hpp"
#include "odenet/nn/activation.hpp"
#include "odenet/nn/gaussian.hpp"
#include "odenet/nn/irregular_times.hpp"
#include "odenet/nn/linear.hpp"
#include "odenet/nn/odeint.hpp"
#include "odenet/nn/rnn_cell.hpp"
#include "odenet/nn/rnn_sequence.hpp"
#include "odenet/nn/sequential.hpp"

namespace odenet::latent_ode {

namespace {

constexpr std::size_t kRunConfigSize = 8;

Var constant(Tensor<double> t, Dtype dtype) { return to_dtype(Var(std::move(t)), dtype); }

// (n, batch, 1): the time from each observation to the next one of its spiral; the last
// observation's gap is `last_gap[b]` (the time to the first query, or 0).
Var gaps_to_next(const Observations& obs, const std::vector<double>& last_gap, Dtype dtype) {
    const std::size_t batch = obs.times.size(), n = batch ? obs.times[0].size() : 0;
    Tensor<double> g = Tensor<double>::from_shape({n, batch, 1});
    for (std::size_t b = 0; b < batch; ++b)
        for (std::size_t j = 0; j < n; ++j) g(j, b, 0) = j + 1 < n ? obs.times[b][j + 1] - obs.times[b][j] : last_gap[b];
    return constant(std::move(g), dtype);
}

// (n, batch, 1): the time from the previous observation of the spiral to each one, from t = 0
// for the first. Read backwards by the recognition RNN, these are the gaps to the observation it
// reads next, and their sum is each observation's time: the encoder knows where z0's time is.
Var gaps_from_previous(const Observations& obs, Dtype dtype) {
    const std::size_t batch = obs.times.size(), n = batch ? obs.times[0].size() : 0;
    Tensor<double> g = Tensor<double>::from_shape({n, batch, 1});
    for (std::size_t b = 0; b < batch; ++b)
        for (std::size_t j = 0; j < n; ++j) g(j, b, 0) = obs.times[b][j] - (j > 0 ? obs.times[b][j - 1] : 0.0);
    return constant(std::move(g), dtype);
}

// ValueError unless `query` is increasing and starts at or after `from`.
void check_query(const std::vector<double>& query, double from) {
    for (std::size_t q = 0; q < query.size(); ++q)
        if (!(query[q] >= from) || (q > 0 && !(query[q] > query[q - 1])))
            throw ValueError("latent_ode", "prediction times must increase and start at or after " + std::to_string(from) +
                                               "; query[" + std::to_string(q) + "] = " + std::to_string(query[q]));
}

Var times_var(const std::vector<double>& ts) {
    Tensor<double> t = Tensor<double>::from_shape({ts.size()});
    std::copy(ts.begin(), ts.end(), t.begin());
    return Var(std::move(t));
}

// (batch, n, 2) from (n, batch, 2): the layout gaussian_log_likelihood sums over.
Var batch_first(const Var& x) { return permute(x, {1, 0, 2}); }

std::vector<double> with_start(double start, const std::vector<double>& query) {
    std::vector<double> ts{start};
    for (double t : query)
        if (t > start) ts.push_back(t);
    return ts;
}

// ---- the latent ODE (both encoders) ------------------------------------------------------------

class LatentODE : public SeriesModel {
public:
    explicit LatentODE(const ModelOptions& o) : o_(o) {
        const nn::LinearOptions lo{.dtype = o.dtype};
        const std::size_t r = o.rnn_hidden;
        if (o.kind == "ode_rnn") {
            gru_ = std::make_shared<nn::GRUCell>(2, r, nn::RNNCellOptions{.dtype = o.dtype});
            hidden_dynamics_ = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(r, r, lo), std::make_shared<nn::Tanh>(),
                                                                std::make_shared<nn::Linear>(r, r, lo));
            register_module("gru", gru_);
            register_module("hidden_dynamics", hidden_dynamics_);
        } else {
            rnn_ = std::make_shared<nn::RNNCell>(3, r, nn::RNNCellOptions{.dtype = o.dtype});
            register_module("rnn", rnn_);
        }
        to_q_ = std::make_shared<nn::Linear>(r, 2 * o.latent, lo);
        dynamics_ = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(o.latent, o.hidden, lo), std::make_shared<nn::ELU>(),
                                                     std::make_shared<nn::Linear>(o.hidden, o.latent, lo));
        decoder_ = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(o.latent, o.hidden, lo), std::make_shared<nn::ReLU>(),
                                                    std::make_shared<nn::Linear>(o.hidden, 2, lo));
        register_module("to_q", to_q_);
        register_module("dynamics", dynamics_);
        register_module("decoder", decoder_);
    }

    bool is_latent() const override { return true; }

    Var loss(const Observations& obs, Generator& gen) override {
        solves_.clear();
        const nn::Normal q = encode(obs);
        const Var z0 = q.rsample(gen);
        // One solve over the union of every spiral's times, from t = 0; each spiral's states
        // are then read at its own times.
        const nn::IrregularTimes at = nn::irregular_times(obs.times, 0.0);
        solves_.push_back(nn::odeint(dynamics_, z0, at.times, o_.odeint));
        const Var x_hat = decoder_->forward(at.gather(solves_.back().ys));  // (batch, n, 2)
        const Var log_lik = nn::gaussian_log_likelihood(batch_first(obs.values), x_hat, o_.noise_std);
        const Var kl = sum(nn::kl_divergence(q, nn::Normal::standard(q.shape(), o_.dtype)), {1});
        return mean(kl - log_lik);
    }

    Var predict(const Observations& obs, const std::vector<double>& query) override {
        return permute(decoder_->forward(latent_path(obs, query)), {1, 0, 2});
    }

    Var latent_path(const Observations& obs, const std::vector<double>& query) override {
        check_query(query, 0.0);
        solves_.clear();
        const Var z0 = encode(obs).mean();
        const std::vector<double> ts = with_start(0.0, query);
        solves_.push_back(nn::odeint(dynamics_, z0, times_var(ts), o_.odeint));
        const std::size_t skip = ts.size() - query.size();  // the start, when it is not a query time
        return slice(solves_.back().ys, 0, skip, ts.size());
    }

private:
    // q(z0 | observations): the encoder reads the spirals backwards in time.
    nn::Normal encode(const Observations& obs) {
        Var h;
        if (rnn_) {
            const Var x = concat({obs.values, gaps_from_previous(obs, o_.dtype)}, 2);
            h = nn::run_sequence(*rnn_, x, {}, {}, {.reverse = true}).last.h;
        } else {
            h = ode_rnn(obs);
        }
        const Var out = to_q_->forward(h);
        return nn::Normal(slice(out, 1, 0, o_.latent), slice(out, 1, o_.latent, 2 * o_.latent));
    }

    // Rubanova et al. (2019), Algorithm 1, backwards: at each observation from the last, a GRU
    // update; between observations, and from the first back to t = 0, the hidden ODE.
    Var ode_rnn(const Observations& obs) {
        const std::size_t batch = obs.times.size(), n = obs.times[0].size();
        Var h = zeros({batch, o_.rnn_hidden}, o_.dtype);
        for (std::size_t k = n; k-- > 0;) {
            h = gru_->forward(reshape(slice(obs.values, 0, k, k + 1), {batch, 2}), h);
            Tensor<double> delta = Tensor<double>::from_shape({batch, 1});
            for (std::size_t b = 0; b < batch; ++b) delta(b, 0) = (k > 0 ? obs.times[b][k - 1] : 0.0) - obs.times[b][k];
            h = evolve(h, constant(std::move(delta), o_.dtype));
        }
        return h;
    }

    // The hidden state carried over a time `delta` (batch, 1) that differs per spiral: in the
    // time s = (t - t_k) / delta of each spiral, dh/ds = delta · g(h), s from 0 to 1.
    Var evolve(const Var& h, const Var& delta) {
        auto g = hidden_dynamics_;
        const ode::Dynamics f = [g, delta](const Var&, const Var& y) { return g->forward(y) * delta; };
        ode::OdeintOptions steps = o_.odeint;
        steps.solver.method = ode::Method::rk4;  // one RK4 step per gap: see the header
        // Backprop through that step: the adjoint of a one-step solve would be one RK4 step of
        // the augmented system backwards, not the gradient of the forward step.
        steps.grad = ode::Grad::direct;
        solves_.push_back(ode::odeint(f, h, linspace(0.0, 1.0, 2), g->parameters(), steps));
        return reshape(slice(solves_.back().ys, 0, 1, 2), h.shape());
    }

    ModelOptions o_;
    std::shared_ptr<nn::RNNCell> rnn_;
    std::shared_ptr<nn::GRUCell> gru_;
    std::shared_ptr<nn::Sequential> hidden_dynamics_, dynamics_, decoder_;
    std::shared_ptr<nn::Linear> to_q_;
};

// ---- the RNN baselines -------------------------------------------------------------------------

class RecurrentBaseline : public SeriesModel {
public:
    explicit RecurrentBaseline(const ModelOptions& o) : o_(o), with_gap_(o.kind == "rnn_dt") {
        cell_ = std::make_shared<nn::RNNCell>(with_gap_ ? 3 : 2, o.rnn_hidden, nn::RNNCellOptions{.dtype = o.dtype});
        readout_ = std::make_shared<nn::Linear>(o.rnn_hidden, 2, nn::LinearOptions{.dtype = o.dtype});
        register_module("rnn", cell_);
        register_module("readout", readout_);
    }

    Var loss(const Observations& obs, Generator&) override {
        solves_.clear();
        const std::size_t n = obs.times[0].size();
        if (n < 2) throw ValueError("latent_ode", "the RNN baselines need at least 2 observations per spiral (got 1)");
        // The state after observation j predicts observation j + 1.
        const Var states = nn::run_sequence(*cell_, inputs(obs, std::vector<double>(obs.times.size(), 0.0)), {}).outputs;
        const Var predicted = readout_->forward(slice(states, 0, 0, n - 1));
        const Var log_lik = nn::gaussian_log_likelihood(batch_first(slice(obs.values, 0, 1, n)), batch_first(predicted), o_.noise_std);
        return neg(mean(log_lik));
    }

    Var predict(const Observations& obs, const std::vector<double>& query) override {
        solves_.clear();
        const std::size_t batch = obs.times.size();
        check_query(query, 0.0);
        std::vector<double> first_gap(batch);
        for (std::size_t b = 0; b < batch; ++b) {
            first_gap[b] = query.at(0) - obs.times[b].back();
            if (!(first_gap[b] > 0)) throw ValueError("latent_ode", "an RNN predicts only after its last observation");
        }
        Var h = nn::run_sequence(*cell_, inputs(obs, first_gap), {}).last.h;
        std::vector<Var> out{readout_->forward(h)};
        for (std::size_t q = 1; q < query.size(); ++q) {  // fed back: its prediction at query[q-1] is the next input
            Var x = out.back();
            if (with_gap_) x = concat({x, full({batch, 1}, query[q] - query[q - 1], o_.dtype)}, 1);
            h = cell_->forward(x, h);
            out.push_back(readout_->forward(h));
        }
        return stack(out, 1);
    }

private:
    // (n, batch, 2 or 3): the observations, with the gap to the next one for rnn_dt.
    Var inputs(const Observations& obs, const std::vector<double>& last_gap) const {
        if (!with_gap_) return obs.values;
        return concat({obs.values, gaps_to_next(obs, last_gap, o_.dtype)}, 2);
    }

    ModelOptions o_;
    bool with_gap_;
    std::shared_ptr<nn::RNNCell> cell_;
    std::shared_ptr<nn::Linear> readout_;
};

}  // namespace

Observations observe(const Tensor<double>& points, const std::vector<double>& grid,
                     const std::vector<std::vector<std::size_t>>& at, const std::vector<std::size_t>& rows, Dtype dtype) {
    const std::size_t batch = rows.size(), n = batch ? at[rows[0]].size() : 0;
    Observations obs;
    Tensor<double> v = Tensor<double>::from_shape({n, batch, 2});
    for (std::size_t b = 0; b < batch; ++b) {
        const std::vector<std::size_t>& idx = at[rows[b]];
        if (idx.size() != n) throw ValueError("latent_ode", "every spiral of a batch needs the same number of observations");
        std::vector<double> t;
        for (std::size_t j = 0; j < n; ++j) {
            v(j, b, 0) = points(rows[b], idx[j], 0), v(j, b, 1) = points(rows[b], idx[j], 1);
            t.push_back(grid[idx[j]]);
        }
        obs.times.push_back(std::move(t));
    }
    obs.values = constant(std::move(v), dtype);
    return obs;
}

std::vector<std::size_t> first_rows(std::size_t count) {
    std::vector<std::size_t> rows(count);
    for (std::size_t i = 0; i < count; ++i) rows[i] = i;
    return rows;
}

const std::vector<std::string>& model_names() {
    static const std::vector<std::string> names{"latent_ode", "ode_rnn", "rnn", "rnn_dt"};
    return names;
}

SeriesModel::SeriesModel() {
    iterations_done_ = Var(Tensor<double>(0.0));
    run_config_ = Var(Tensor<double>(xt::zeros<double>({kRunConfigSize})));
    register_buffer("iterations_done", iterations_done_);
    register_buffer("run_config", run_config_);
}

long SeriesModel::iterations_done() const { return long(iterations_done_.item()); }
void SeriesModel::set_iterations_done(long iterations) { iterations_done_.set_value(Value(Tensor<double>(double(iterations)))); }

std::vector<double> SeriesModel::run_config() const {
    const Tensor<double> v = run_config_.value<double>();
    return {v.begin(), v.end()};
}

void SeriesModel::set_run_config(const std::vector<double>& values) {
    if (values.size() != kRunConfigSize) throw ValueError("latent_ode", "run_config takes " + std::to_string(kRunConfigSize) + " values");
    Tensor<double> v = xt::zeros<double>({kRunConfigSize});
    std::copy(values.begin(), values.end(), v.begin());
    run_config_.set_value(Value(std::move(v)));
}

Var SeriesModel::latent_path(const Observations&, const std::vector<double>&) {
    throw ValueError("latent_ode", "an RNN baseline has no latent trajectory");
}

double SeriesModel::nfe_forward() const {
    double n = 0;
    for (const auto& s : solves_) n += double(s.forward.nfe);
    return n;
}

double SeriesModel::nfe_backward() const {
    double n = 0;
    for (const auto& s : solves_) n += double(s.backward().nfe);
    return n;
}

std::shared_ptr<SeriesModel> make_model(const ModelOptions& options) {
    if (options.kind == "latent_ode" || options.kind == "ode_rnn") return std::make_shared<LatentODE>(options);
    if (options.kind == "rnn" || options.kind == "rnn_dt") return std::make_shared<RecurrentBaseline>(options);
    throw ValueError("latent_ode", "unknown model '" + options.kind + "' (latent_ode, ode_rnn, rnn, rnn_dt)");
}

}  // namespace odenet::latent_ode
