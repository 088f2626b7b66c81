#pragma once
// Learning-rate schedules, as torch.optim.lr_scheduler: each remembers the optimizer's learning
// rate when built (the base rate) and, on step(), sets lr = lr_at(count) for the next count.
// Call step() once per epoch (or per iteration) after optimizer.step(). lr_at is closed-form.
#include <cstddef>
#include <vector>

#include "odenet/optim/optimizer.hpp"

namespace odenet::optim {

class LRSchedule {
public:
    explicit LRSchedule(Optimizer& optimizer);
    virtual ~LRSchedule() = default;
    /// The learning rate after `count` calls of step().
    virtual double lr_at(long count) const = 0;
    void step();
    long count() const { return count_; }
    double base_lr() const { return base_lr_; }

protected:
    /// Sets the optimizer's rate to lr_at(0); derived constructors call it once they are set up.
    void start();

private:
    Optimizer& optimizer_;
    double base_lr_;
    long count_ = 0;
};

struct MultiStepOptions {
    std::vector<long> milestones;  ///< increasing counts at which lr is multiplied by gamma
    double gamma = 0.1;
};

/// MultiStepLR's rate after `count` steps from `base`: base · gamma^(number of milestones <= count).
/// As a function, for code that composes schedules or needs the rate of any step (a resumed run).
double multistep_lr(double base, const MultiStepOptions& options, long count);

/// lr = base · gamma^(number of milestones <= count).
class MultiStepLR : public LRSchedule {
public:
    MultiStepLR(Optimizer& optimizer, MultiStepOptions options);
    double lr_at(long count) const override;

private:
    MultiStepOptions options_;
};

struct CosineOptions {
    long t_max;           ///< half period, in step() calls
    double eta_min = 0.0;
};

/// lr = eta_min + (base - eta_min)(1 + cos(π count / t_max)) / 2 (Loshchilov & Hutter, 2017,
/// without restarts; PyTorch's CosineAnnealingLR closed form).
class CosineAnnealingLR : public LRSchedule {
public:
    CosineAnnealingLR(Optimizer& optimizer, CosineOptions options);
    double lr_at(long count) const override;

private:
    CosineOptions options_;
};

struct WarmupOptions {
    long warmup_steps;          ///< count at which the full base rate is reached
    double start_factor = 0.0;  ///< lr = base · start_factor at count 0 (PyTorch LinearLR uses 1/3)
};

/// LinearWarmup's rate after `count` steps from `base` (as multistep_lr, a function).
double warmup_lr(double base, const WarmupOptions& options, long count);

/// Linear warm-up: lr = base · (start_factor + (1 - start_factor) min(count, warmup_steps) / warmup_steps).
class LinearWarmup : public LRSchedule {
public:
    LinearWarmup(Optimizer& optimizer, WarmupOptions options);
    double lr_at(long count) const override;

private:
    WarmupOptions options_;
};

}  // namespace odenet::optim
