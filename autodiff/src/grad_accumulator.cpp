#include "grad_accumulator.hpp"

#include "odenet/autodiff/grad_mode.hpp"
#include "odenet/autodiff/ops.hpp"

namespace odenet {

GradAccumulator::~GradAccumulator() {
    if (leaf_ && leaf_->accumulator == this) leaf_->accumulator = nullptr;
}

Grads GradAccumulator::apply(const Var& grad_output, std::uint32_t) {
    std::lock_guard lock(mutex_);
    // Without create_graph the gradient has no graph already; only a recorded one is cut.
    Var incoming = GradMode::enabled() || !grad_output.requires_grad() ? grad_output : grad_output.detach();
    if (!leaf_->grad.defined()) {
        leaf_->grad = std::move(incoming);
    } else {
        leaf_->grad = leaf_->grad + incoming;
    }
    return {};
}

}  // namespace odenet
