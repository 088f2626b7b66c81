#include "odenet/autodiff/graph_leaves.hpp"

#include <unordered_set>

#include "grad_accumulator.hpp"

namespace odenet {

std::vector<LeafRef> graph_leaves(const std::vector<Var>& outputs) {
    std::vector<LeafRef> leaves;
    std::unordered_set<const Node*> seen;
    std::vector<Node*> stack;  // iterative: solver graphs are long chains
    for (const Var& out : outputs) {
        if (!out.defined() || !out.requires_grad()) continue;
        NodePtr edge = gradient_edge(out);
        if (edge && seen.insert(edge.get()).second) stack.push_back(edge.get());
        while (!stack.empty()) {
            Node* node = stack.back();
            stack.pop_back();
            if (node->is_accumulator()) {
                if (const VarImpl* leaf = static_cast<GradAccumulator*>(node)->leaf())
                    leaves.push_back({leaf, leaf->value.shape()});
                continue;
            }
            for (const Edge& e : node->edges())
                if (e.node && seen.insert(e.node.get()).second) stack.push_back(e.node.get());
        }
    }
    return leaves;
}

}  // namespace odenet
