#pragma once
// A node of the recorded graph: one op application. It knows the edges to the nodes of its
// inputs and how to turn its output's cotangent into its inputs' cotangents.
#include <atomic>
#include <cstdint>
#include <optional>

#include "odenet/autodiff/small_vector.hpp"
#include "odenet/autodiff/var.hpp"

namespace odenet {

/// Where an input's gradient goes: the input's gradient node (null when the input needs no
/// gradient) and the input's shape, to which the engine reduces broadcast gradients.
struct Edge {
    NodePtr node;
    Shape shape;
};

/// A node's input edges; inline up to two (unary and binary ops allocate nothing for them).
using Edges = SmallVector<Edge, 2>;
/// The input cotangents a backward returns, one per edge; inline up to three.
using Grads = SmallVector<Var, 3>;

/// Throws the GraphError for a backward through a node whose saved values were freed.
[[noreturn]] void throw_released(const char* op);

class Node {
public:
    explicit Node(Edges&& edges);
    virtual ~Node() = default;
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;

    virtual const char* name() const = 0;
    /// The cotangents of the inputs, given the cotangent of the output. Entry i may be an
    /// undefined Var when bit i of `needs` is clear (the engine will not use it). The result may
    /// have the output's broadcast shape; the engine sums it to the input's shape.
    virtual Grads apply(const Var& grad_output, std::uint32_t needs) = 0;
    /// Frees what the backward needed (saved inputs and outputs). Called after backward unless
    /// retain_graph; a later apply() then throws GraphError.
    virtual void release_saved() {}

    std::uint64_t sequence_nr() const { return sequence_nr_; }
    const Edges& edges() const { return edges_; }

    /// A node with no inputs is a leaf's gradient accumulator.
    bool is_accumulator() const { return edges_.empty(); }

    // Bookkeeping of the backward pass running over this node (engine.cpp only): which task
    // visited it last and its index there. See Note [Engine slots] in engine.cpp.
    std::uint64_t task_id_ = 0;
    std::size_t task_slot_ = 0;

private:
    friend void retain_node(Node*) noexcept;
    friend void release_node(Node*) noexcept;
    std::atomic<int> refs_{0};
    std::uint64_t sequence_nr_;  // creation order: inputs' nodes always have smaller numbers
    Edges edges_;
};

/// What a backward formula may ask for: which inputs need a gradient, and the op's own output
/// as a Var (its grad_fn is this node, so formulas that use it differentiate correctly).
class BackwardContext {
public:
    BackwardContext(std::uint32_t needs, Node* node, const Value* saved_output, std::uint32_t saved_output_version)
        : needs_(needs), node_(node), saved_output_(saved_output), saved_output_version_(saved_output_version) {}
    /// The mask has 32 bits (the engine's); later inputs (a concat of many Vars) always count as
    /// needed, as the engine treats them. Shifting by >= 32 would be undefined.
    bool needs(std::size_t input) const { return input >= 32 || ((needs_ >> input) & 1u); }
    /// The saved output; GraphError if it was not saved, or was changed in place since (through
    /// a detached copy). See Note [Version counters] in var.cpp.
    Var output() const;
    const Node& node() const { return *node_; }

private:
    std::uint32_t needs_;
    Node* node_;
    const Value* saved_output_;
    std::uint32_t saved_output_version_;
};

/// A Var that a backward formula keeps from the forward pass (PyTorch's SavedVariable): an op
/// captures `SavedVar(a, i)` for its input i instead of `a`, and the formula calls unpack(ctx).
/// unpack() throws GraphError naming the op and the input if the value was changed in place
/// since it was saved, rather than let the formula compute with the new value. Only what a
/// formula unpacks is checked. See Note [Version counters] in var.cpp.
class SavedVar {
public:
    SavedVar() = default;
    SavedVar(const Var& var, std::size_t input)
        : var_(var), version_(var.version()), input_(static_cast<std::uint32_t>(input)) {}
    const Var& unpack(const BackwardContext& ctx) const {
        if (var_.version() != version_) throw_modified(ctx);
        return var_;
    }

private:
    [[noreturn]] void throw_modified(const BackwardContext& ctx) const;

    Var var_;
    std::uint32_t version_ = 0;
    std::uint32_t input_ = 0;
};

/// A node whose backward is a lambda `Grads(const Var& grad_output, const BackwardContext&)`,
/// stored by value (one allocation per recorded op).
template <class F>
class LambdaNode final : public Node {
public:
    LambdaNode(const char* name, Edges&& edges, F backward, Value saved_output)
        : Node(std::move(edges)),
          name_(name),
          backward_(std::move(backward)),
          saved_output_(std::move(saved_output)),
          saved_output_version_(saved_output_.version()) {}
    const char* name() const override { return name_; }
    Grads apply(const Var& grad_output, std::uint32_t needs) override {
        if (!backward_) throw_released(name_);
        return (*backward_)(grad_output, BackwardContext(needs, this, &saved_output_, saved_output_version_));
    }
    void release_saved() override {
        backward_.reset();
        saved_output_ = Value();
    }

private:
    const char* name_;
    std::optional<F> backward_;
    Value saved_output_;
    std::uint32_t saved_output_version_;
};

}  // namespace odenet
