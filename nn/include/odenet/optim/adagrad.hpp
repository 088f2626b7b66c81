#pragma once
// Adagrad (Duchi, Hazan & Singer, 2011, JMLR 12:2121-2159, diagonal form), as torch.optim.Adagrad:
//   t = t + 1
//   g = ∇ + weight_decay p                                     (L2 in the gradient)
//   clr = lr / (1 + (t - 1) lr_decay)
//   s = s + g²                                                 ("sum")
//   p = p - clr g / (sqrt(s) + eps)
// As in PyTorch, "sum" exists from construction, filled with initial_accumulator_value, so a
// state_dict taken before the first step already holds it.
#include "odenet/optim/optimizer.hpp"

namespace odenet::optim {

struct AdagradOptions {
    double lr = 1e-2;
    double lr_decay = 0.0;
    double weight_decay = 0.0;
    double initial_accumulator_value = 0.0;
    double eps = 1e-10;
};

class Adagrad : public Optimizer {
public:
    /// ValueError naming the option for any option negative, infinite or NaN; and as Optimizer
    /// for the parameter list.
    Adagrad(std::vector<Var> params, AdagradOptions options = {});
    void step() override;
    const AdagradOptions& options() const { return options_; }

private:
    AdagradOptions options_;
};

}  // namespace odenet::optim
