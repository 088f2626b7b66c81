#pragma once
// Stochastic gradient descent with momentum (Sutskever et al., 2013 form, as PyTorch):
//   g = ∇ + weight_decay p
//   b = g (first step), else b = momentum b + (1 - dampening) g
//   g = g + momentum b (Nesterov) or g = b
//   p = p - lr g
#include "odenet/optim/optimizer.hpp"

namespace odenet::optim {

struct SGDOptions {
    double lr = 1e-3;
    double momentum = 0.0;
    double dampening = 0.0;
    double weight_decay = 0.0;
    bool nesterov = false;  ///< needs momentum > 0 and dampening = 0 (ValueError otherwise)
};

class SGD : public Optimizer {
public:
    SGD(std::vector<Var> params, SGDOptions options = {});
    void step() override;
    const SGDOptions& options() const { return options_; }

private:
    SGDOptions options_;
};

}  // namespace odenet::optim
