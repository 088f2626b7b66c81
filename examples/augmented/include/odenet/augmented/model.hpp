#pragma once
// The model of Augmented Neural ODEs' 2-D experiments (Dupont, Doucet and Teh, 2019; their code's
// ODENet): an ODE block from t = 0 to 1 on [x, 0] (d = 2 plus p zeros), whose dynamics is an MLP
// on [t, h] (d + p + 1 -> hidden -> hidden -> d + p, ReLU after the two hidden layers), followed
// by a linear map d + p -> 1. Trained by regression on the labels +-1 with the Huber loss (their
// trainer's SmoothL1Loss, threshold 1); a point is classified by the sign of the output.
#include <cstddef>
#include <memory>

#include "odenet/nn/concat_layers.hpp"
#include "odenet/nn/linear.hpp"
#include "odenet/nn/ode_block.hpp"

namespace odenet::augmented {

/// f(t, h) = W3 relu(W2 relu(W1 [t, h] + b1) + b2) + b3 on width = d + p features.
class Dynamics : public nn::TimeLayer {
public:
    Dynamics(std::size_t width, std::size_t hidden, Dtype dtype);
    Var forward(const Var& t, const Var& h) override;

private:
    nn::ConcatLinear fc1_;
    nn::Linear fc2_, fc3_;
};

struct ModelOptions {
    std::size_t d = 2;       ///< input features
    std::size_t p = 0;       ///< zero features appended (0: the plain Neural ODE)
    std::size_t hidden = 32; ///< the dynamics' hidden width (the paper's 32)
    Dtype dtype = Dtype::float64;
    ode::OdeintOptions odeint{};
};

class Classifier : public nn::Module {
public:
    explicit Classifier(const ModelOptions& options);
    /// (batch, d) -> (batch, 1) scores; their sign is the class.
    Var forward(const Var& x);
    /// (batch, d) -> (batch, d + p): the state at t = 1, what the linear map reads.
    Var features(const Var& x);
    /// States at the times ts: (len(ts), batch, d + p).
    Var trajectory(const Var& x, const Var& ts);

    nn::ODEBlock& block() { return *block_; }
    nn::Linear& head() { return head_; }

private:
    std::shared_ptr<nn::ODEBlock> block_;
    nn::Linear head_;
};

/// mean over the batch of huber(score - label): 0.5 e^2 for |e| <= 1, |e| - 0.5 beyond.
Var huber_loss(const Var& scores, const Var& labels);

/// The fraction of rows whose score has the label's sign (a score of exactly 0 counts as wrong).
double accuracy(const Tensor<double>& scores, const Tensor<double>& labels);

}  // namespace odenet::augmented
