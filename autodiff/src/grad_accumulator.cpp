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
    Var& grad = leaf_->grad;
    if (!grad.defined()) {
        grad = std::move(incoming);
    } else if (!GradMode::enabled() && !grad.requires_grad() && grad.value().use_count() == 1 &&
               grad.shape() == incoming.shape() && grad.dtype() == incoming.dtype()) {
        // Add in place, as PyTorch's AccumulateGrad does: the buffer is this gradient's alone.
        incoming.value().visit([&](const auto& in) {
            using T = typename std::decay_t<decltype(in)>::value_type;
            T* dst = grad.mutable_value<T>().data();
            for (std::size_t i = 0, n = in.size(); i < n; ++i) dst[i] += in.data()[i];
        });
    } else {
        grad = grad + incoming;
    }
    return {};
}

}  // namespace odenet
