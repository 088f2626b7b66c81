#pragma once
// The node at the bottom of every graph: it adds the incoming gradient into a leaf's grad().
#include <mutex>

#include "spin_lock.hpp"

#include "odenet/autodiff/node.hpp"
#include "var_impl.hpp"

namespace odenet {

class GradAccumulator final : public Node {
public:
    explicit GradAccumulator(std::shared_ptr<VarImpl> leaf) : Node({}), leaf_(std::move(leaf)) {}
    ~GradAccumulator() override;
    const char* name() const override { return "GradAccumulator"; }
    /// Adds grad_output into the leaf's grad. With create_graph (grad mode on) the stored
    /// gradient keeps its graph; otherwise it is stored detached.
    Grads apply(const Var& grad_output, std::uint32_t needs) override;
    const std::shared_ptr<VarImpl>& leaf() const { return leaf_; }

private:
    std::shared_ptr<VarImpl> leaf_;
    SpinLock mutex_;  // leaves may be shared by graphs on several threads
};

}  // namespace odenet
