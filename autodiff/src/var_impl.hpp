#pragma once
// The state behind a Var handle. Private to autodiff/src.
#include <atomic>

#include "odenet/autodiff/var.hpp"

namespace odenet {

struct VarImpl {
    VarImpl() = default;
    ~VarImpl();  // detaches the accumulator (grad_accumulator.cpp)
    VarImpl(const VarImpl&) = delete;
    VarImpl& operator=(const VarImpl&) = delete;

    Value value;
    // Var::version() is value.version() + version_offset (mod 2^32): set_value() replaces the
    // buffer but keeps the Var's version going up. See Note [Version counters] in var.cpp.
    std::uint32_t version_offset = 0;
    bool requires_grad = false;
    NodePtr grad_fn;  // null for leaves
    Var grad;         // accumulated by backward()
    // A leaf's GradAccumulator, created by its first use in a graph; this holds one reference.
    // See Note [Leaf accumulators] in grad_accumulator.cpp.
    std::atomic<Node*> accumulator{nullptr};
};

}  // namespace odenet
