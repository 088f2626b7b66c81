#pragma once
// The state behind a Var handle. Private to autodiff/src.

#include "odenet/autodiff/var.hpp"

namespace odenet {

struct VarImpl {
    Value value;
    bool requires_grad = false;
    NodePtr grad_fn;             // null for leaves
    Var grad;                    // accumulated by backward()
    Node* accumulator = nullptr;  // the leaf's GradAccumulator while one exists; it clears this
};

}  // namespace odenet
