#pragma once
// Var: a differentiable tensor handle. It holds a Value (float32 or float64, any rank), whether
// it requires a gradient, the node that produced it (none for a leaf) and, after backward, its
// gradient. Copying a Var copies the handle: both name the same variable, as in PyTorch.
#include <cstdint>
#include <memory>

#include "odenet/autodiff/node_ptr.hpp"
#include "odenet/autodiff/value.hpp"

namespace odenet {

struct VarImpl;

class Var {
public:
    /// An undefined Var (no value); `defined()` is false. Gradients that do not exist are this.
    Var() = default;
    Var(Tensor<float> value, bool requires_grad = false);
    Var(Tensor<double> value, bool requires_grad = false);
    Var(Value value, bool requires_grad = false);
    /// A Var whose value was produced by `grad_fn` (used by ops; see record.hpp).
    Var(Value value, NodePtr grad_fn);

    /// A 0-dimensional Var holding x.
    static Var scalar(double x, Dtype dtype = Dtype::float64, bool requires_grad = false);

    bool defined() const { return impl_ != nullptr; }
    const Value& value() const;
    template <class T>
    const Tensor<T>& value() const {
        return value().as<T>();
    }
    /// The value for in-place update (optimizers, loading checkpoints). Only for leaves. Counts
    /// as one in-place write (version() goes up): a backward through a graph that saved this Var
    /// before the write then throws GraphError instead of using the new value.
    template <class T>
    Tensor<T>& mutable_value();
    /// Replaces the value of a leaf (same role as mutable_value, any dtype or shape); counts as
    /// an in-place write too.
    void set_value(Value value);
    /// How many in-place writes this Var's value has seen (PyTorch's `_version`): mutable_value()
    /// and set_value() on it, writes through its detached copies, which share the buffer. 0 if
    /// undefined. See Note [Version counters] in var.cpp.
    std::uint32_t version() const;

    Dtype dtype() const { return value().dtype(); }
    const Shape& shape() const { return value().shape(); }
    std::size_t dim() const { return shape().size(); }
    std::size_t numel() const { return value().size(); }
    /// The single element of a one-element Var, as double.
    double item() const;

    bool requires_grad() const;
    /// Marks a leaf as a parameter to differentiate with respect to. Throws GraphError on a
    /// non-leaf (its requires_grad is decided by its inputs).
    Var& set_requires_grad(bool requires_grad = true);
    bool is_leaf() const;
    const NodePtr& grad_fn() const;

    /// The gradient accumulated by backward(); undefined before the first backward.
    const Var& grad() const;
    void set_grad(Var grad);
    void zero_grad();

    /// The same value, cut from the graph (no grad_fn, requires_grad false). Shares the buffer.
    Var detach() const;

    /// Identity of the underlying variable (two copies of a Var are the same variable).
    VarImpl* impl() const { return impl_.get(); }
    bool same(const Var& other) const { return impl_ == other.impl_; }

private:
    std::shared_ptr<VarImpl> impl_;
    friend NodePtr gradient_edge(const Var& v);
};

/// The node a gradient for `v` must flow into: its grad_fn, or for a leaf that requires grad
/// its accumulator node (created once and shared by every use of the leaf); null otherwise.
NodePtr gradient_edge(const Var& v);

}  // namespace odenet
