#pragma once
// Reverse-mode differentiation over the recorded graph: backward, grad, vjp, hvp.
#include <functional>
#include <optional>
#include <vector>

#include "odenet/autodiff/var.hpp"

namespace odenet {

struct GradOptions {
    /// Keep the saved values so the graph can be differentiated again (default: create_graph).
    std::optional<bool> retain_graph{};
    /// Record the backward pass itself, so the gradients returned can be differentiated again.
    bool create_graph = false;
    /// An input the outputs do not depend on gets a zero gradient instead of a GraphError.
    bool allow_unused = false;
    /// backward() only: called once for each leaf as soon as its grad() is final, while the rest
    /// of the backward pass still runs (data-parallel training starts sending a gradient then;
    /// compare `leaf` with Var::impl()). Leaves the loss does not depend on are not reported.
    std::function<void(const VarImpl* leaf)> on_leaf_done{};
};

/// Accumulates d(loss)/d(leaf) into every leaf's grad(). A loss with more than one element
/// needs `grad_output` (the cotangent, of the loss's shape). Throws GraphError when the loss
/// does not require grad, or when its graph was already freed by an earlier backward.
void backward(const Var& loss, const Var& grad_output = Var(), GradOptions options = {});

/// Gradients of `outputs` (weighted by `grad_outputs`, default ones for one-element outputs)
/// with respect to `inputs`, returned in order; leaves' grad() is untouched.
std::vector<Var> grad(const std::vector<Var>& outputs, const std::vector<Var>& inputs,
                      const std::vector<Var>& grad_outputs = {}, GradOptions options = {});

/// Single output, single input form of grad().
Var grad(const Var& output, const Var& input, const Var& grad_output = Var(), GradOptions options = {});

struct VjpResult {
    Var output;               ///< f(x)
    std::vector<Var> grads;   ///< vᵀ ∂f/∂x_i, one per input
};

/// Evaluates f at `inputs` inside a recording scope and returns f(x) and vᵀ ∂f/∂x.
/// Inputs that do not require grad are differentiated through a detached copy; inputs that do
/// keep their graph, so with create_graph the result can be differentiated with respect to
/// whatever they depend on (the CNF's trace estimate is exactly this).
VjpResult vjp(const std::function<Var(const std::vector<Var>&)>& f, const std::vector<Var>& inputs, const Var& v,
              bool create_graph = false);

/// Single-input form: returns {f(x), vᵀ ∂f/∂x}.
std::pair<Var, Var> vjp(const std::function<Var(const Var&)>& f, const Var& x, const Var& v, bool create_graph = false);

/// Hessian-vector product of a scalar function: returns {f(x), (∂²f/∂x²) v}.
std::pair<Var, Var> hvp(const std::function<Var(const Var&)>& f, const Var& x, const Var& v);

}  // namespace odenet
