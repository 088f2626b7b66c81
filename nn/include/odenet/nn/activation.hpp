#pragma once
// Elementwise activations as layers (for Sequential); the functions themselves are in ops.hpp.
#include "odenet/autodiff/ops.hpp"
#include "odenet/nn/module.hpp"

namespace odenet::nn {

class ReLU : public Layer {
public:
    Var forward(const Var& x) override { return relu(x); }
};

class Tanh : public Layer {
public:
    Var forward(const Var& x) override { return tanh(x); }
};

class Sigmoid : public Layer {
public:
    Var forward(const Var& x) override { return sigmoid(x); }
};

/// log(1 + e^x) (PyTorch's beta = 1).
class Softplus : public Layer {
public:
    Var forward(const Var& x) override { return softplus(x); }
};

/// x for x > 0, alpha (e^x - 1) otherwise.
class ELU : public Layer {
public:
    explicit ELU(double alpha = 1.0) : alpha_(alpha) {}
    Var forward(const Var& x) override { return elu(x, alpha_); }

private:
    double alpha_;
};

class Identity : public Layer {
public:
    Var forward(const Var& x) override { return x; }
};

/// (N, d1, d2, ...) -> (N, d1*d2*...) for start_axis = 1.
class Flatten : public Layer {
public:
    explicit Flatten(int start_axis = 1) : start_axis_(start_axis) {}
    Var forward(const Var& x) override { return flatten(x, start_axis_); }

private:
    int start_axis_;
};

}  // namespace odenet::nn
