#pragma once
// The three classifiers of examples/cde, behind one interface so that training, evaluation and
// the report treat them alike. Each reads a batch of spirals (spirals.hpp) with 30% of the
// points missing and returns two logits (clockwise, counter-clockwise) per spiral:
//   cde      a neural CDE (nn::NeuralCDE, Kidger et al. 2020): a natural cubic spline through
//            the observed (t, x, y) of each spiral, z(0) = ζ(X(0)), dz = f(z) dX with f an MLP
//            hidden -> width -> hidden·3 (ReLU, then tanh as the paper's), logits = linear(z(T))
//   gru_dt   a GRU reading (x, y, Δt) per observation, Δt the time since the previous one (since
//            t = 0 for the first): Kidger et al.'s GRU-Δt baseline; logits = linear(h_last)
//   ode_rnn  the ODE-RNN of Rubanova, Chen and Duvenaud (2019): between observations the hidden
//            state follows dh/dt = g(h) (MLP hidden -> hidden -> hidden, tanh), at each
//            observation a GRU cell reads (x, y); logits = linear(h_last). The gaps differ per
//            spiral: each solve runs s from 0 to 1 with dh/ds = Δt_b g(h), which is the same flow
//            with every spiral on its own clock, so one solve serves the batch.
// Solves use the model's odeint options (solver, tolerances, gradient mode).
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "odenet/autodiff/var.hpp"
#include "odenet/cde/spirals.hpp"
#include "odenet/nn/interpolation.hpp"
#include "odenet/nn/module.hpp"
#include "odenet/odeint/odeint.hpp"

namespace odenet::cde {

/// "cde", "gru_dt", "ode_rnn".
const std::vector<std::string>& model_names();

struct ModelOptions {
    std::string kind = "cde";
    Dtype dtype = Dtype::float64;
    std::size_t cde_hidden = 16, cde_width = 64;  ///< z and the field MLP's width
    std::size_t gru_hidden = 32;                  ///< gru_dt's h
    std::size_t ode_rnn_hidden = 24;              ///< ode_rnn's h and its ODE's width
    bool stop_at_knots = true;                    ///< cde: the spline's knots as jump times
    ode::OdeintOptions odeint{};
};

class Classifier : public nn::Module {
public:
    /// Logits (batch, 2) of the spirals of `batch`.
    virtual Var logits(const Spirals& batch) = 0;
    /// Cost of the ODE solves since the last logits() call: forward NFE, and backward NFE once
    /// backward has run (zeros for gru_dt).
    virtual ode::SolveStats forward_stats() const;
    virtual ode::SolveStats backward_stats() const;

protected:
    std::vector<ode::OdeintSolution> solves_;
};

/// One of model_names(), initialised from the default generator. ValueError for another name.
std::shared_ptr<Classifier> make_classifier(const ModelOptions& options);

/// The natural cubic spline through the observed (t, x, y) of each spiral of `batch` (t is a
/// channel, observed where x and y are), in `dtype`: what the cde model reads and paths.png draws.
nn::CubicPath spiral_path(const Spirals& batch, Dtype dtype);

}  // namespace odenet::cde
