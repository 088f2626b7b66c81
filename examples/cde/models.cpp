#include "odenet/cde/models.hpp"

#include <cmath>

#include "odenet/autodiff/ops.hpp"
#include "odenet/core/error.hpp"
#include "odenet/nn/activation.hpp"
#include "odenet/nn/linear.hpp"
#include "odenet/nn/neural_cde.hpp"
#include "odenet/nn/rnn_cell.hpp"
#include "odenet/nn/sequential.hpp"

namespace odenet::cde {

namespace {

Var constant(Tensor<double> t, Dtype dtype) { return to_dtype(Var(std::move(t)), dtype); }

// (batch, 2) observations, their times, and the gaps since the previous observation, at step j
// of each spiral's own sequence (every spiral keeps the same number of points).
struct Step {
    Var xy;               ///< (batch, 2)
    Tensor<double> gap;   ///< (batch, 1)
};

std::vector<Step> steps(const Spirals& batch, Dtype dtype) {
    const std::size_t B = batch.labels.size(), n = batch.kept.empty() ? 0 : batch.kept[0].size();
    std::vector<Step> out;
    for (std::size_t j = 0; j < n; ++j) {
        Tensor<double> xy = Tensor<double>::from_shape({B, 2}), gap = Tensor<double>::from_shape({B, 1});
        for (std::size_t b = 0; b < B; ++b) {
            if (batch.kept[b].size() != n) throw ValueError("cde", "every spiral of a batch must keep the same number of points");
            const std::size_t g = batch.kept[b][j];
            xy(b, 0) = batch.values(b, g, 0), xy(b, 1) = batch.values(b, g, 1);
            gap(b, 0) = batch.times[g] - (j > 0 ? batch.times[batch.kept[b][j - 1]] : 0.0);
        }
        out.push_back({constant(std::move(xy), dtype), std::move(gap)});
    }
    return out;
}

class CDEClassifier : public Classifier {
public:
    explicit CDEClassifier(const ModelOptions& o) : dtype_(o.dtype) {
        const nn::LinearOptions lo{.dtype = o.dtype};
        const std::size_t h = o.cde_hidden, w = o.cde_width;
        auto field = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(h, w, lo), std::make_shared<nn::ReLU>(),
                                                      std::make_shared<nn::Linear>(w, h * 3, lo), std::make_shared<nn::Tanh>());
        cde_ = std::make_shared<nn::NeuralCDE>(field, 3, h, nn::NeuralCDEOptions{.odeint = o.odeint, .stop_at_knots = o.stop_at_knots, .dtype = o.dtype});
        readout_ = std::make_shared<nn::Linear>(h, 2, lo);
        register_module("cde", cde_);
        register_module("readout", readout_);
    }
    Var logits(const Spirals& batch) override {
        solves_.clear();
        const nn::CubicPath X = spiral_path(batch, dtype_);
        return readout_->forward(cde_->forward(X));
    }
    // The CDE keeps its own statistics (the backward ones appear once backward has run).
    ode::SolveStats forward_stats() const override { return cde_->last_stats().forward; }
    ode::SolveStats backward_stats() const override { return cde_->last_stats().backward; }

private:
    Dtype dtype_;
    std::shared_ptr<nn::NeuralCDE> cde_;
    std::shared_ptr<nn::Linear> readout_;
};

class GRUClassifier : public Classifier {
public:
    explicit GRUClassifier(const ModelOptions& o) : dtype_(o.dtype) {
        gru_ = std::make_shared<nn::GRUCell>(3, o.gru_hidden, nn::RNNCellOptions{.dtype = o.dtype});
        readout_ = std::make_shared<nn::Linear>(o.gru_hidden, 2, nn::LinearOptions{.dtype = o.dtype});
        register_module("gru", gru_);
        register_module("readout", readout_);
    }
    Var logits(const Spirals& batch) override {
        solves_.clear();
        Var h;
        for (const Step& s : steps(batch, dtype_)) h = gru_->forward(concat({s.xy, constant(s.gap, dtype_)}, 1), h);
        return readout_->forward(h);
    }

private:
    Dtype dtype_;
    std::shared_ptr<nn::GRUCell> gru_;
    std::shared_ptr<nn::Linear> readout_;
};

class ODERNNClassifier : public Classifier {
public:
    explicit ODERNNClassifier(const ModelOptions& o) : dtype_(o.dtype), odeint_(o.odeint) {
        const std::size_t h = o.ode_rnn_hidden;
        const nn::LinearOptions lo{.dtype = o.dtype};
        g_ = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(h, h, lo), std::make_shared<nn::Tanh>(),
                                              std::make_shared<nn::Linear>(h, h, lo));
        gru_ = std::make_shared<nn::GRUCell>(2, h, nn::RNNCellOptions{.dtype = o.dtype});
        readout_ = std::make_shared<nn::Linear>(h, 2, lo);
        register_module("ode", g_);
        register_module("gru", gru_);
        register_module("readout", readout_);
        hidden_ = h;
    }
    Var logits(const Spirals& batch) override {
        solves_.clear();
        const std::size_t B = batch.labels.size();
        Var h = constant(Tensor<double>(Tensor<double>::shape_type{B, hidden_}, 0.0), dtype_);
        const Var unit_interval(Tensor<double>{0.0, 1.0});
        const std::vector<Var> params = g_->parameters();
        for (const Step& s : steps(batch, dtype_)) {
            double largest_gap = 0;
            for (double v : s.gap) largest_gap = std::max(largest_gap, v);
            if (largest_gap > 0) {
                const Var gap = constant(s.gap, dtype_);
                const auto f = [g = g_, gap](const Var&, const Var& y) { return g->forward(y) * gap; };
                solves_.push_back(ode::odeint(f, h, unit_interval, params, odeint_));
                h = reshape(index_select(solves_.back().ys, 0, {1}), {B, hidden_});
            }
            h = gru_->forward(s.xy, h);
        }
        return readout_->forward(h);
    }

private:
    Dtype dtype_;
    ode::OdeintOptions odeint_;
    std::size_t hidden_ = 0;
    std::shared_ptr<nn::Sequential> g_;
    std::shared_ptr<nn::GRUCell> gru_;
    std::shared_ptr<nn::Linear> readout_;
};

}  // namespace

const std::vector<std::string>& model_names() {
    static const std::vector<std::string> names{"cde", "gru_dt", "ode_rnn"};
    return names;
}

ode::SolveStats Classifier::forward_stats() const {
    ode::SolveStats s;
    for (const auto& sol : solves_) {
        s.nfe += sol.forward.nfe, s.accepted += sol.forward.accepted, s.rejected += sol.forward.rejected;
    }
    return s;
}

ode::SolveStats Classifier::backward_stats() const {
    ode::SolveStats s;
    for (const auto& sol : solves_) {
        const ode::SolveStats b = sol.backward();
        s.nfe += b.nfe, s.accepted += b.accepted, s.rejected += b.rejected;
    }
    return s;
}

std::shared_ptr<Classifier> make_classifier(const ModelOptions& o) {
    if (o.kind == "cde") return std::make_shared<CDEClassifier>(o);
    if (o.kind == "gru_dt") return std::make_shared<GRUClassifier>(o);
    if (o.kind == "ode_rnn") return std::make_shared<ODERNNClassifier>(o);
    throw ValueError("cde", "unknown model '" + o.kind + "'; the models are cde, gru_dt, ode_rnn");
}

nn::CubicPath spiral_path(const Spirals& batch, Dtype dtype) {
    const std::size_t B = batch.labels.size(), n = batch.times.size();
    Tensor<double> data = Tensor<double>::from_shape({B, n, 3});
    for (std::size_t b = 0; b < B; ++b)
        for (std::size_t j = 0; j < n; ++j) {
            const double x = batch.values(b, j, 0);
            data(b, j, 0) = std::isnan(x) ? x : batch.times[j];  // time is observed with the point
            data(b, j, 1) = x;
            data(b, j, 2) = batch.values(b, j, 1);
        }
    Tensor<double> t = Tensor<double>::from_shape({n});
    std::copy(batch.times.begin(), batch.times.end(), t.begin());
    return nn::natural_cubic_spline(Var(std::move(t)), constant(std::move(data), dtype));
}

}  // namespace odenet::cde
