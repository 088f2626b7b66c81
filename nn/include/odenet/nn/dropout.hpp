#pragma once
// Dropout (Srivastava et al., 2014), inverted: in training each element is zeroed with
// probability p and the rest scaled by 1/(1-p), so evaluation is the identity.
#include "odenet/nn/module.hpp"

namespace odenet::nn {

class Dropout : public Layer {
public:
    /// p in [0, 1] (ValueError otherwise).
    explicit Dropout(double p = 0.5);
    /// The mask is drawn from the default generator.
    Var forward(const Var& x) override;
    double p() const { return p_; }

private:
    double p_;
};

}  // namespace odenet::nn
