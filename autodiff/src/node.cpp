#include "odenet/autodiff/node.hpp"

#include <string>
#include <vector>

#include "odenet/autodiff/record.hpp"

namespace odenet {

namespace {
std::atomic<std::uint64_t> next_sequence_nr{0};
}

Node::Node(Edges&& edges)
    : sequence_nr_(next_sequence_nr.fetch_add(1, std::memory_order_relaxed)), edges_(std::move(edges)) {}

void retain_node(Node* node) noexcept { node->refs_.fetch_add(1, std::memory_order_relaxed); }

// Note [Destroying long graphs]
// Backprop through a solve records chains of 10^5..10^6 nodes. Destroying the last node drops
// its edges, which destroys the previous node, and so on: recursion as deep as the chain, a
// stack overflow. Instead, a node whose count reaches zero while another destruction is under
// way on this thread is parked in a list, and the outermost release deletes the parked nodes in
// a loop. Nodes are reached through NodePtr only (edges and Var::grad_fn, including Vars saved
// inside backward lambdas), so every path of the recursion passes through here.
void release_node(Node* node) noexcept {
    if (node->refs_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    thread_local std::vector<Node*> parked;
    thread_local bool draining = false;
    if (draining) {
        parked.push_back(node);
        return;
    }
    draining = true;
    delete node;
    while (!parked.empty()) {
        Node* next = parked.back();
        parked.pop_back();
        delete next;
    }
    draining = false;
}

namespace {
// See Note [Version counters] in var.cpp.
[[noreturn]] void throw_version_mismatch(const std::string& what, const char* op, const Shape& shape,
                                         std::uint32_t saved, std::uint32_t now) {
    throw GraphError("backward", "one of the Vars needed for gradient computation has been modified by an in-place "
                                 "operation: the " + what + " of '" + op + "' (shape " + shape_str(shape) +
                                     ", version saved " + std::to_string(saved) + ", now " + std::to_string(now) +
                                     "); change it after the backward, or compute with a copy");
}
}  // namespace

Var BackwardContext::output() const {
    if (!saved_output_ || !saved_output_->defined()) {
        throw GraphError("BackwardContext::output", "this op did not save its output (record with SaveOutput::yes)");
    }
    // Not a leaf, so never written through mutable_value(), but a detached copy shares its buffer.
    if (const std::uint32_t now = saved_output_->version(); now != saved_output_version_) {
        throw_version_mismatch("output", node_->name(), saved_output_->shape(), saved_output_version_, now);
    }
    return Var(*saved_output_, NodePtr(node_));
}

void SavedVar::throw_modified(const BackwardContext& ctx) const {
    throw_version_mismatch("input " + std::to_string(input_), ctx.node().name(), var_.shape(), version_,
                           var_.version());
}

void throw_released(const char* op) {
    throw GraphError("backward", std::string("trying to backward through the graph a second time: the values saved by '") + op +
                                     "' were freed by the first backward; pass retain_graph = true to the first call");
}

bool should_record(std::initializer_list<const Var*> inputs) {
    if (!GradMode::enabled()) return false;
    for (const Var* v : inputs)
        if (v->requires_grad()) return true;
    return false;
}

bool should_record(const std::vector<Var>& inputs) {
    if (!GradMode::enabled()) return false;
    for (const Var& v : inputs)
        if (v.requires_grad()) return true;
    return false;
}

Edges make_edges(std::initializer_list<const Var*> inputs) {
    Edges edges;
    edges.reserve(inputs.size());
    for (const Var* v : inputs) edges.push_back(Edge{gradient_edge(*v), v->shape()});
    return edges;
}

Edges make_edges(const std::vector<Var>& inputs) {
    Edges edges;
    edges.reserve(inputs.size());
    for (const Var& v : inputs) edges.push_back(Edge{gradient_edge(v), v.shape()});
    return edges;
}

}  // namespace odenet
