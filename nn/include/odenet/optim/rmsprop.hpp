#pragma once
// RMSprop (Hinton, Srivastava & Swersky, 2012, Neural Networks for Machine Learning, lecture 6e),
// with the centred variant of Graves (2013, arXiv:1308.0850, eqs. 38-45), as torch.optim.RMSprop:
//   g = ∇ + weight_decay p                                      (L2 in the gradient)
//   v = α v + (1 - α) g²                                        ("square_avg", zero at first)
//   centred:  ḡ = α ḡ + (1 - α) g,  d = sqrt(v - ḡ²) + eps      ("grad_avg", zero at first)
//   else:     d = sqrt(v) + eps
//   momentum > 0:  b = momentum b + g / d,  p = p - lr b        ("momentum_buffer", zero at first)
//   else:          p = p - lr g / d
// The state holds only the buffers the options use, as PyTorch's does.
#include "odenet/optim/optimizer.hpp"

namespace odenet::optim {

struct RMSpropOptions {
    double lr = 1e-2;
    double alpha = 0.99;  ///< smoothing of the squared-gradient average, in [0, 1]
    double eps = 1e-8;    ///< added to the root, not under it (PyTorch; Adam adds it the same way)
    double weight_decay = 0.0;
    double momentum = 0.0;
    bool centered = false;  ///< divide by an estimate of the gradient's standard deviation instead
};

class RMSprop : public Optimizer {
public:
    /// ValueError naming the option for lr, eps, weight_decay or momentum negative, infinite or
    /// NaN, or alpha outside [0, 1]; and as Optimizer for the parameter list.
    RMSprop(std::vector<Var> params, RMSpropOptions options = {});
    void step() override;
    const RMSpropOptions& options() const { return options_; }

private:
    RMSpropOptions options_;
};

}  // namespace odenet::optim
