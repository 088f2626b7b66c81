#pragma once
// Optimizer: the base of SGD, Adam, AdamW, RMSprop and Adagrad. An optimizer holds the parameter
// Vars it was given (handles: Module::to() and checkpoint loading keep working under it) and
// per-parameter state.
// step() updates each parameter that has a gradient, in place, outside any graph, in the
// parameter's own dtype (float32 or float64).
//
// State for checkpoints is a list of named tensors, as PyTorch's state_dict:
//   "lr"                 the current learning rate (0-d float64)
//   "state.<i>.<slot>"   parameter i's buffers ("momentum_buffer"; "exp_avg", "exp_avg_sq";
//                        "square_avg", "grad_avg"; "sum"), of the parameter's shape, present
//                        once the parameter has been stepped (Adagrad's "sum": from the start)
//   "state.<i>.step"     parameter i's step count (0-d float64), for Adam's bias correction
//                        and Adagrad's lr_decay
#include <string>
#include <utility>
#include <vector>

#include "odenet/autodiff/var.hpp"

namespace odenet::optim {

using NamedTensors = std::vector<std::pair<std::string, Value>>;

class Optimizer {
public:
    /// ValueError for an empty list, an undefined parameter or one that is not a leaf.
    Optimizer(std::vector<Var> params, double lr);
    virtual ~Optimizer() = default;
    Optimizer(const Optimizer&) = delete;
    Optimizer& operator=(const Optimizer&) = delete;

    /// One update of every parameter with a defined gradient (others are skipped, as PyTorch).
    /// Unless set_check_finite(false), a NaN or Inf in any gradient refuses the whole step with
    /// a ValueError naming the parameter, before any parameter changes.
    virtual void step() = 0;
    /// On by default: a non-finite gradient would write NaN into the weights for good.
    void set_check_finite(bool on) { check_finite_ = on; }
    bool check_finite() const { return check_finite_; }
    /// Clears every parameter's gradient.
    void zero_grad();

    double lr() const { return lr_; }
    /// Learning-rate schedules call this (schedule.hpp).
    void set_lr(double lr);
    const std::vector<Var>& params() const { return params_; }

    NamedTensors state_dict() const;
    /// Replaces the state with `state` (entries absent mean "not stepped yet"). Validates
    /// every entry first (known name, parameter index, shape and dtype of the parameter) and
    /// throws ValueError naming the first bad entry, leaving the optimizer unchanged.
    void load_state_dict(const NamedTensors& state);

protected:
    Optimizer(std::vector<Var> params, double lr, std::vector<std::string> slot_names);
    /// slot(i, k): parameter i's k-th buffer (undefined until the first step).
    Value& slot(std::size_t i, std::size_t k) { return slots_[i][k]; }
    long& steps(std::size_t i) { return steps_[i]; }
    /// Calls f(i, Tensor<T>& param, const Tensor<T>& grad) for each parameter with a gradient.
    template <class F>
    void for_each_with_grad(F&& f);

private:
    void check_grad(std::size_t i) const;
    void check_grads_finite() const;
    // After Module::to(), a parameter's buffers are converted to its new dtype on the next step.
    void match_dtype(std::size_t i);

    std::vector<Var> params_;
    double lr_;
    std::vector<std::string> slot_names_;
    std::vector<std::vector<Value>> slots_;
    std::vector<long> steps_;
    bool check_finite_ = true;
};

template <class F>
void Optimizer::for_each_with_grad(F&& f) {
    if (check_finite_) check_grads_finite();
    for (std::size_t i = 0; i < params_.size(); ++i) {
        Var& p = params_[i];
        if (!p.grad().defined()) continue;
        check_grad(i);
        match_dtype(i);
        if (p.dtype() == Dtype::float32) {
            f(i, p.mutable_value<float>(), p.grad().value<float>());
        } else {
            f(i, p.mutable_value<double>(), p.grad().value<double>());
        }
    }
}

}  // namespace odenet::optim
