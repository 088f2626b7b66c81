#pragma once
// How an op puts itself on the tape. Ops compute their value on plain tensors, then call
// record() with the backward formula written in differentiable Var ops, so that with
// create_graph the backward is itself recorded (higher-order gradients for free). A formula that
// reads an input's value captures it as a SavedVar (node.hpp), never as a plain Var, and the
// output through SaveOutput::yes: both make a backward after an in-place change of that value an
// error rather than a wrong gradient (Note [Version counters] in var.cpp).
#include <initializer_list>
#include <vector>

#include "odenet/autodiff/anomaly_mode.hpp"
#include "odenet/autodiff/grad_mode.hpp"
#include "odenet/autodiff/node.hpp"

namespace odenet {

enum class SaveOutput { no, yes };

/// True when an op on these inputs must be recorded: grad mode on and some input requires grad.
bool should_record(std::initializer_list<const Var*> inputs);
bool should_record(const std::vector<Var>& inputs);

Edges make_edges(std::initializer_list<const Var*> inputs);
Edges make_edges(const std::vector<Var>& inputs);

/// Wraps `out` in a Var and, when recording, attaches a node running `backward`
/// (signature: Grads(const Var& grad_output, const BackwardContext&)), one Grads entry per input.
template <class F>
Var record(const char* name, Value out, const std::vector<Var>& inputs, F&& backward, SaveOutput save = SaveOutput::no) {
    if (AnomalyMode::checks_forward()) {
        std::vector<const Var*> ptrs;
        for (const Var& v : inputs) ptrs.push_back(&v);
        check_forward_anomaly(name, out, ptrs);
    }
    if (!should_record(inputs)) return Var(std::move(out));
    Value saved = save == SaveOutput::yes ? out : Value();
    auto* node = new LambdaNode<std::decay_t<F>>(name, make_edges(inputs), std::forward<F>(backward), std::move(saved));
    return Var(std::move(out), NodePtr(node));
}

template <class F>
Var record(const char* name, Value out, std::initializer_list<const Var*> inputs, F&& backward,
           SaveOutput save = SaveOutput::no) {
    if (AnomalyMode::checks_forward()) check_forward_anomaly(name, out, std::vector<const Var*>(inputs));
    if (!should_record(inputs)) return Var(std::move(out));
    Value saved = save == SaveOutput::yes ? out : Value();
    auto* node = new LambdaNode<std::decay_t<F>>(name, make_edges(inputs), std::forward<F>(backward), std::move(saved));
    return Var(std::move(out), NodePtr(node));
}

}  // namespace odenet
