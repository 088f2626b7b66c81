#pragma once
// Adam (Kingma & Ba, 2015, Algorithm 1) and AdamW (Loshchilov & Hutter, 2019), as PyTorch:
//   g = ∇ (+ weight_decay p for Adam: L2 in the gradient)
//   p = p (1 - lr weight_decay)                    (AdamW: decoupled decay, before the update)
//   m = β1 m + (1 - β1) g,  v = β2 v + (1 - β2) g²,  t = t + 1
//   p = p - (lr / (1 - β1^t)) m / (sqrt(v) / sqrt(1 - β2^t) + eps)
#include <array>

#include "odenet/optim/optimizer.hpp"

namespace odenet::optim {

struct AdamOptions {
    double lr = 1e-3;
    std::array<double, 2> betas{0.9, 0.999};
    double eps = 1e-8;
    double weight_decay = 0.0;
};

struct AdamWOptions {
    double lr = 1e-3;
    std::array<double, 2> betas{0.9, 0.999};
    double eps = 1e-8;
    double weight_decay = 1e-2;  ///< PyTorch's AdamW default
};

class Adam : public Optimizer {
public:
    Adam(std::vector<Var> params, AdamOptions options = {});
    void step() override;
    const AdamOptions& options() const { return options_; }

protected:
    Adam(std::vector<Var> params, AdamOptions options, bool decoupled);

private:
    AdamOptions options_;
    bool decoupled_;
};

class AdamW : public Adam {
public:
    AdamW(std::vector<Var> params, AdamWOptions options = {});
};

}  // namespace odenet::optim
