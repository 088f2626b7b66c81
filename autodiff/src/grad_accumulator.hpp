#pragma once
// The node at the bottom of every graph: it adds the incoming gradient into a leaf's grad().
#include <mutex>

#include "spin_lock.hpp"

#include "odenet/autodiff/node.hpp"
#include "var_impl.hpp"

namespace odenet {

class GradAccumulator final : public Node {
public:
    explicit GradAccumulator(VarImpl* leaf) : Node({}), leaf_(leaf) {}
    const char* name() const override { return "GradAccumulator"; }
    /// Adds grad_output into the leaf's grad. With create_graph (grad mode on) the stored
    /// gradient keeps its graph; otherwise it is stored detached. Dropped once the leaf is gone.
    Grads apply(const Var& grad_output, std::uint32_t needs) override;
    /// The leaf is being destroyed: later gradients have nowhere to go.
    void detach();
    /// The leaf this node accumulates into; null once it was destroyed.
    const VarImpl* leaf() {
        std::lock_guard lock(mutex_);
        return leaf_;
    }

private:
    VarImpl* leaf_;    // not owning: the leaf owns this node (Note [Leaf accumulators])
    SpinLock mutex_;  // leaves may be shared by graphs on several threads
};

/// The leaf's accumulator, created on first use (thread-safe). `leaf` is a leaf requiring grad.
Node* leaf_accumulator(VarImpl& leaf);

}  // namespace odenet
