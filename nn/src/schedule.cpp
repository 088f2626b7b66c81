#include "odenet/optim/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "odenet/core/error.hpp"

namespace odenet::optim {

LRSchedule::LRSchedule(Optimizer& optimizer) : optimizer_(optimizer), base_lr_(optimizer.lr()) {}

void LRSchedule::start() { optimizer_.set_lr(lr_at(0)); }

void LRSchedule::step() { optimizer_.set_lr(lr_at(++count_)); }

MultiStepLR::MultiStepLR(Optimizer& optimizer, MultiStepOptions options)
    : LRSchedule(optimizer), options_(std::move(options)) {
    if (!std::is_sorted(options_.milestones.begin(), options_.milestones.end())) {
        throw ValueError("MultiStepLR", "milestones must be increasing");
    }
    start();
}

double multistep_lr(double base, const MultiStepOptions& options, long count) {
    const auto passed =
        std::upper_bound(options.milestones.begin(), options.milestones.end(), count) - options.milestones.begin();
    return base * std::pow(options.gamma, static_cast<double>(passed));
}

double MultiStepLR::lr_at(long count) const { return multistep_lr(base_lr(), options_, count); }

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, CosineOptions options)
    : LRSchedule(optimizer), options_(options) {
    if (options.t_max <= 0) throw ValueError("CosineAnnealingLR", "t_max must be positive");
    start();
}

double CosineAnnealingLR::lr_at(long count) const {
    const double phase = std::numbers::pi * static_cast<double>(count) / static_cast<double>(options_.t_max);
    return options_.eta_min + (base_lr() - options_.eta_min) * (1.0 + std::cos(phase)) / 2.0;
}

LinearWarmup::LinearWarmup(Optimizer& optimizer, WarmupOptions options) : LRSchedule(optimizer), options_(options) {
    if (options.warmup_steps <= 0) throw ValueError("LinearWarmup", "warmup_steps must be positive");
    if (!(options.start_factor >= 0.0 && options.start_factor <= 1.0)) {
        throw ValueError("LinearWarmup", "start_factor must be in [0, 1]");
    }
    start();
}

double warmup_lr(double base, const WarmupOptions& options, long count) {
    const double done = static_cast<double>(std::min(count, options.warmup_steps)) / static_cast<double>(options.warmup_steps);
    return base * (options.start_factor + (1.0 - options.start_factor) * done);
}

double LinearWarmup::lr_at(long count) const { return warmup_lr(base_lr(), options_, count); }

}  // namespace odenet::optim
