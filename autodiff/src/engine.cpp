// The reverse pass, in three steps (collect, order, run), each a short function.
//
// Note [Saved outputs]
// An op whose backward uses its own output (exp, tanh, sigmoid, sqrt) cannot keep its output
// Var: that Var's grad_fn is the node itself, a reference cycle. The node keeps the output's
// Value instead (a shared buffer, no copy) and BackwardContext::output() rebuilds a Var with
// grad_fn = the node while the backward runs, so with create_graph the formula's use of the
// output is differentiated along the right path.
#include "odenet/autodiff/engine.hpp"

#include <algorithm>
#include <unordered_map>

#include "odenet/autodiff/grad_mode.hpp"
#include "odenet/autodiff/node.hpp"
#include "odenet/autodiff/ops.hpp"

namespace odenet {

namespace {

struct GraphTask {
    std::vector<Node*> nodes;  // every node reachable from the roots, descending sequence number
    std::unordered_map<Node*, std::size_t> index;
    std::vector<Var> buffers;  // summed incoming gradient per node (PyTorch's InputBuffer)
    std::vector<char> needed;  // whether running the node can reach a requested input
};

// 1. collect: iterative depth-first search (a recursive one overflows on long solver graphs).
void collect(GraphTask& task, const std::vector<Node*>& roots) {
    std::vector<Node*> stack;
    for (Node* root : roots) {
        if (task.index.emplace(root, 0).second) {
            task.nodes.push_back(root);
            stack.push_back(root);
        }
    }
    while (!stack.empty()) {
        Node* node = stack.back();
        stack.pop_back();
        for (const Edge& edge : node->edges()) {
            if (edge.node && task.index.emplace(edge.node.get(), 0).second) {
                task.nodes.push_back(edge.node.get());
                stack.push_back(edge.node.get());
            }
        }
    }
    // 2. order: a node's inputs were created before it, so descending sequence numbers are a
    // topological order; each node then runs once, however many paths reach it.
    std::sort(task.nodes.begin(), task.nodes.end(),
              [](const Node* a, const Node* b) { return a->sequence_nr() > b->sequence_nr(); });
    for (std::size_t i = 0; i < task.nodes.size(); ++i) task.index[task.nodes[i]] = i;
    task.buffers.resize(task.nodes.size());
}

void accumulate(Var& buffer, Var incoming) {
    buffer = buffer.defined() ? add(buffer, incoming) : std::move(incoming);
}

Var implicit_grad_output(const Var& output, const Var& given, const char* where, std::size_t i) {
    if (given.defined()) {
        if (given.shape() != output.shape() || given.dtype() != output.dtype()) {
            throw ShapeError(where, "grad_output " + std::to_string(i) + " has shape " + shape_str(given.shape()) + " " +
                                        dtype_name(given.dtype()) + " but the output is " + shape_str(output.shape()) +
                                        " " + dtype_name(output.dtype()));
        }
        return given;
    }
    if (output.numel() != 1) {
        throw GraphError(where, "a gradient can be created implicitly only for a one-element output; output " +
                                    std::to_string(i) + " has shape " + shape_str(output.shape()) +
                                    ", so pass grad_outputs");
    }
    return ones_like(output);
}

// 3. run. With `captures` (grad()), the gradient reaching each captured node is returned and
// leaves are untouched; without (backward()), GradAccumulators add into the leaves.
void run(GraphTask& task, const std::vector<std::vector<std::size_t>>* captures, std::vector<Var>* results,
         bool create_graph, bool retain_graph) {
    EnableGradGuard mode(create_graph);
    for (std::size_t k = 0; k < task.nodes.size(); ++k) {
        if (!task.needed[k] || !task.buffers[k].defined()) continue;
        Node* node = task.nodes[k];
        Var grad_output = std::move(task.buffers[k]);
        if (captures) {
            for (std::size_t input : (*captures)[k]) (*results)[input] = grad_output;
        }
        const std::vector<Edge>& edges = node->edges();
        if (edges.empty()) {  // a leaf's accumulator
            if (!captures) node->apply(grad_output, 0);
            continue;
        }
        std::uint32_t needs = 0;
        for (std::size_t i = 0; i < edges.size() && i < 32; ++i) {
            if (edges[i].node && task.needed[task.index[edges[i].node.get()]]) needs |= 1u << i;
        }
        if (needs == 0 && edges.size() <= 32) continue;
        Grads grads = node->apply(grad_output, needs);
        if (!retain_graph) node->release_saved();
        for (std::size_t i = 0; i < edges.size() && i < grads.size(); ++i) {
            if (!edges[i].node || !grads[i].defined()) continue;
            Var g = std::move(grads[i]);
            if (g.shape() != edges[i].shape) g = sum_to(g, edges[i].shape);
            accumulate(task.buffers[task.index[edges[i].node.get()]], std::move(g));
        }
    }
}

std::vector<Var> differentiate(const std::vector<Var>& outputs, const std::vector<Var>* inputs,
                               const std::vector<Var>& grad_outputs, const GradOptions& options, const char* where) {
    if (!grad_outputs.empty() && grad_outputs.size() != outputs.size()) {
        throw GraphError(where, std::to_string(outputs.size()) + " outputs but " + std::to_string(grad_outputs.size()) +
                                    " grad_outputs");
    }
    GraphTask task;
    std::vector<Node*> roots;
    std::vector<Var> seeds;
    for (std::size_t i = 0; i < outputs.size(); ++i) {
        if (!outputs[i].requires_grad()) {
            throw GraphError(where, "output " + std::to_string(i) +
                                        " does not require grad: nothing it was computed from requires grad, "
                                        "or it was computed under NoGradGuard");
        }
        roots.push_back(gradient_edge(outputs[i]).get());
        seeds.push_back(implicit_grad_output(outputs[i], grad_outputs.empty() ? Var() : grad_outputs[i], where, i));
    }
    collect(task, roots);

    std::vector<std::vector<std::size_t>> captures;
    std::vector<Var> results;
    if (inputs) {
        captures.resize(task.nodes.size());
        results.resize(inputs->size());
        task.needed.assign(task.nodes.size(), 0);
        for (std::size_t j = 0; j < inputs->size(); ++j) {
            if (!(*inputs)[j].requires_grad()) {
                throw GraphError(where, "input " + std::to_string(j) + " does not require grad");
            }
            const NodePtr edge = gradient_edge((*inputs)[j]);
            auto found = task.index.find(edge.get());
            if (found == task.index.end()) continue;  // not used by the outputs
            captures[found->second].push_back(j);
            task.needed[found->second] = 1;
        }
        // A node is needed when a captured node lies below it; scan upwards (ascending order).
        for (std::size_t k = task.nodes.size(); k-- > 0;) {
            for (const Edge& edge : task.nodes[k]->edges()) {
                if (edge.node && task.needed[task.index[edge.node.get()]]) task.needed[k] = 1;
            }
        }
    } else {
        task.needed.assign(task.nodes.size(), 1);
    }

    {
        EnableGradGuard mode(options.create_graph);
        for (std::size_t i = 0; i < roots.size(); ++i) accumulate(task.buffers[task.index[roots[i]]], seeds[i]);
    }
    const bool retain = options.retain_graph.value_or(options.create_graph);
    run(task, inputs ? &captures : nullptr, inputs ? &results : nullptr, options.create_graph, retain);

    if (inputs) {
        for (std::size_t j = 0; j < results.size(); ++j) {
            if (results[j].defined()) continue;
            if (!options.allow_unused) {
                throw GraphError(where, "input " + std::to_string(j) +
                                            " was not used to compute the outputs; pass allow_unused = true for a zero gradient");
            }
            results[j] = zeros_like((*inputs)[j]);
        }
    }
    return results;
}

}  // namespace

void backward(const Var& loss, const Var& grad_output, GradOptions options) {
    differentiate({loss}, nullptr, {grad_output}, options, "backward");
}

std::vector<Var> grad(const std::vector<Var>& outputs, const std::vector<Var>& inputs,
                      const std::vector<Var>& grad_outputs, GradOptions options) {
    return differentiate(outputs, &inputs, grad_outputs, options, "grad");
}

Var grad(const Var& output, const Var& input, const Var& grad_output, GradOptions options) {
    const std::vector<Var> inputs{input};
    return differentiate({output}, &inputs, {grad_output}, options, "grad")[0];
}

VjpResult vjp(const std::function<Var(const std::vector<Var>&)>& f, const std::vector<Var>& inputs, const Var& v,
              bool create_graph) {
    EnableGradGuard recording;
    std::vector<Var> xs;
    xs.reserve(inputs.size());
    for (const Var& x : inputs) xs.push_back(x.requires_grad() ? x : Var(x.value(), true));
    Var y = f(xs);
    VjpResult result;
    if (!y.requires_grad()) {  // f does not depend on its inputs
        for (const Var& x : xs) result.grads.push_back(zeros_like(x));
    } else {
        result.grads = grad({y}, xs, {v}, {.create_graph = create_graph, .allow_unused = true});
    }
    result.output = create_graph ? y : y.detach();
    return result;
}

std::pair<Var, Var> vjp(const std::function<Var(const Var&)>& f, const Var& x, const Var& v, bool create_graph) {
    VjpResult r = vjp([&](const std::vector<Var>& xs) { return f(xs[0]); }, std::vector<Var>{x}, v, create_graph);
    return {std::move(r.output), std::move(r.grads[0])};
}

std::pair<Var, Var> hvp(const std::function<Var(const Var&)>& f, const Var& x, const Var& v) {
    EnableGradGuard recording;
    Var xs = x.requires_grad() ? x : Var(x.value(), true);
    Var y = f(xs);
    Var g = grad(y, xs, Var(), {.create_graph = true, .allow_unused = true});
    if (!g.requires_grad()) return {y.detach(), zeros_like(x)};  // f is at most linear in x
    Var hv = grad(g, xs, v, {.allow_unused = true});
    return {y.detach(), hv};
}

}  // namespace odenet
