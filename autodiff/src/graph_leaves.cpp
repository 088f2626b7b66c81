#include "odenet/autodiff/graph_leaves.hpp"

#include <unordered_set>

#include "grad_accumulator.hpp"

namespace odenet {

std::vector<LeafRef> graph_leaves(const std::vector<Var>& outputs, const std::vector<Var>& stops) {
    std::vector<LeafRef> leaves;
    std::unordered_set<const Node*> seen;
    // A stop's own node counts as seen: the search never enters it (a leaf stop is not listed).
    for (const Var& s : stops)
        if (s.defined() && s.requires_grad())
            if (NodePtr edge = gradient_edge(s)) seen.insert(edge.get());
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
