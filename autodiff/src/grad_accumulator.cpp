// Note [Leaf accumulators]
// Every use of a leaf in a graph must reach one node, the leaf's GradAccumulator, so that the
// engine sums all uses before touching grad(). The leaf owns it (VarImpl::accumulator holds a
// reference) and the accumulator points back without owning. The other way round (graphs
// owning accumulators that own their leaves) made a new accumulator for every graph, two heap
// allocations and a lock per leaf per step, and a gradient kept with create_graph, whose graph
// reaches the accumulator, always held its own leaf alive in a cycle. (A backward formula that
// saves the leaf itself, as mul's does, still makes one with create_graph, as in PyTorch.)
// A leaf may die while a graph still reaches its accumulator (a temporary parameter): its
// destructor detaches the accumulator under the accumulator's lock, and gradients arriving after
// that are dropped, since no Var can see them.
#include "grad_accumulator.hpp"

#include "odenet/autodiff/grad_mode.hpp"
#include "odenet/autodiff/ops.hpp"

namespace odenet {

VarImpl::~VarImpl() {
    if (Node* acc = accumulator.load(std::memory_order_acquire)) {
        static_cast<GradAccumulator*>(acc)->detach();
        release_node(acc);
    }
}

Node* leaf_accumulator(VarImpl& leaf) {
    Node* acc = leaf.accumulator.load(std::memory_order_acquire);
    if (acc) return acc;
    auto* fresh = new GradAccumulator(&leaf);
    retain_node(fresh);  // the leaf's reference
    if (leaf.accumulator.compare_exchange_strong(acc, fresh, std::memory_order_acq_rel)) return fresh;
    release_node(fresh);  // another thread installed one first; `acc` is now that one
    return acc;
}

void GradAccumulator::detach() {
    std::lock_guard lock(mutex_);
    leaf_ = nullptr;
}

Grads GradAccumulator::apply(const Var& grad_output, std::uint32_t) {
    // Without create_graph the gradient has no graph already; only a recorded one is cut.
    const bool recording = GradMode::enabled();
    Var incoming = recording || !grad_output.requires_grad() ? grad_output : grad_output.detach();
    // A replaced gradient is destroyed after the lock is released: its graph may hold the last
    // reference to this leaf, whose destructor takes the lock.
    Var replaced;
    std::lock_guard lock(mutex_);
    if (!leaf_) return {};
    Var& grad = leaf_->grad;
    if (!grad.defined()) {
        grad = std::move(incoming);
    } else if (!recording && !grad.requires_grad() && grad.value().use_count() == 1 &&
               grad.shape() == incoming.shape() && grad.dtype() == incoming.dtype()) {
        // Add in place, as PyTorch's AccumulateGrad does: the buffer is this gradient's alone.
        incoming.value().visit([&](const auto& in) {
            using T = typename std::decay_t<decltype(in)>::value_type;
            T* dst = grad.mutable_value<T>().data();
            for (std::size_t i = 0, n = in.size(); i < n; ++i) dst[i] += in.data()[i];
        });
    } else {
        Var sum = grad + incoming;
        replaced = std::exchange(grad, std::move(sum));
    }
    return {};
}

}  // namespace odenet
