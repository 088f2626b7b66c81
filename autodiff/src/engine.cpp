// The reverse pass, in three steps (collect, order, run), each a short function.
//
// Note [Saved outputs]
// An op whose backward uses its own output (exp, tanh, sigmoid, sqrt) cannot keep its output
// Var: that Var's grad_fn is the node itself, a reference cycle. The node keeps the output's
// Value instead (a shared buffer, no copy) and BackwardContext::output() rebuilds a Var with
// grad_fn = the node while the backward runs, so with create_graph the formula's use of the
// output is differentiated along the right path. The node also notes the buffer's version, so
// that a write to the output through a detached copy makes output() throw; see Note [Version
// counters] in var.cpp.
#include "odenet/autodiff/engine.hpp"

#include <algorithm>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>

#include "odenet/autodiff/anomaly_mode.hpp"
#include "odenet/autodiff/grad_mode.hpp"
#include "odenet/autodiff/node.hpp"
#include "odenet/autodiff/ops.hpp"
#include "grad_accumulator.hpp"

namespace odenet {

namespace {

// Note [Engine slots]
// Each run ("task") numbers the interior nodes it reaches; the number lives in the node
// (task_id_, task_slot_) rather than in a hash map, which was the largest cost of a small
// backward. Tasks on one thread nest (a node's backward may call grad(), as the adjoint does),
// and a nested task may reach nodes of the task it runs inside: it saves their old numbers and
// restores them when it ends. Accumulators (leaves) never get numbers, since leaves may be
// shared by graphs of several threads: gradients reaching them are added straight into the
// leaf (backward) or into the result for that input (grad).
std::atomic<std::uint64_t> next_task_id{1};
thread_local std::vector<std::uint64_t> active_tasks;

struct SavedSlot {
    Node* node;
    std::uint64_t task_id;
    std::size_t slot;
};

// Note [Task scratch]
// A backward through a small graph used to allocate a dozen vectors (the task's nodes, buffers
// and flags, its roots and seeds, the search stack), a good part of the cost of one op and its
// backward. Their storage is kept instead between runs in a thread-local TaskScratch, one per
// nesting depth since tasks nest (see Note [Engine slots]). A task clears what it used when it
// ends, so no Var or node outlives it there; capacities above kKeepCapacity are given back, so
// that one backward over a long solver graph does not pin its memory for the thread's life.
constexpr std::size_t kKeepCapacity = 1 << 12;

template <class V>
void clear_keeping_capacity(V& v) {
    v.clear();
    if (v.capacity() > kKeepCapacity) V().swap(v);
}

struct TaskScratch {
    std::vector<Node*> nodes;  // interior nodes reachable from the roots, descending sequence number
    std::vector<Var> buffers;  // summed incoming gradient per node (PyTorch's InputBuffer)
    std::vector<char> needed;  // whether running the node can reach a requested input
    std::vector<SavedSlot> saved;
    // grad(): accumulator -> input index, sorted by accumulator address.
    std::vector<std::pair<Node*, std::size_t>> leaf_captures;
    std::vector<std::vector<std::size_t>> captures;  // grad(): node slot -> input indices
    std::vector<Node*> stack;                        // collect()'s search stack
    std::vector<NodePtr> roots;  // owned: a root accumulator may exist only through this
    std::vector<Node*> root_ptrs;
    std::vector<Var> seeds;
    std::vector<NodePtr> input_edges;  // keeps the inputs' accumulators alive during the run
    // backward() with on_leaf_done: the accumulators whose last incoming gradient comes from node k.
    std::vector<std::vector<Node*>> leaves_done_after;

    void clear() {
        // Gradients and owning handles first (they may free nodes), raw pointers after.
        clear_keeping_capacity(buffers);
        clear_keeping_capacity(seeds);
        clear_keeping_capacity(captures);
        clear_keeping_capacity(input_edges);
        clear_keeping_capacity(roots);
        clear_keeping_capacity(nodes);
        clear_keeping_capacity(needed);
        clear_keeping_capacity(saved);
        clear_keeping_capacity(leaf_captures);
        clear_keeping_capacity(stack);
        clear_keeping_capacity(leaves_done_after);
        clear_keeping_capacity(root_ptrs);
    }
};

TaskScratch& scratch_at_depth(std::size_t depth) {
    thread_local std::vector<std::unique_ptr<TaskScratch>> by_depth;  // stable addresses as it grows
    while (by_depth.size() <= depth) by_depth.push_back(std::make_unique<TaskScratch>());
    return *by_depth[depth];
}

// One run of the reverse pass; it works in the scratch of its nesting depth (task->nodes, ...).
class GraphTask {
public:
    GraphTask() : s_(scratch_at_depth(active_tasks.size())) { active_tasks.push_back(id); }
    ~GraphTask() {
        for (auto it = s_.saved.rbegin(); it != s_.saved.rend(); ++it) {
            it->node->task_id_ = it->task_id;
            it->node->task_slot_ = it->slot;
        }
        s_.clear();
        active_tasks.pop_back();
    }
    GraphTask(const GraphTask&) = delete;
    GraphTask& operator=(const GraphTask&) = delete;

    TaskScratch* operator->() { return &s_; }
    const TaskScratch* operator->() const { return &s_; }

    bool owns(const Node* node) const { return node->task_id_ == id; }
    std::size_t slot(const Node* node) const { return node->task_slot_; }

    // Numbers the node for this task; false if it already was.
    bool claim(Node* node) {
        if (node->task_id_ == id) return false;
        if (node->task_id_ != 0 &&
            std::find(active_tasks.begin(), active_tasks.end(), node->task_id_) != active_tasks.end()) {
            s_.saved.push_back({node, node->task_id_, node->task_slot_});
        }
        node->task_id_ = id;
        s_.nodes.push_back(node);
        return true;
    }

    const std::uint64_t id = next_task_id.fetch_add(1, std::memory_order_relaxed);

private:
    TaskScratch& s_;
};

// 1. collect: iterative depth-first search (a recursive one overflows on long solver graphs).
void collect(GraphTask& task, const std::vector<Node*>& roots) {
    std::vector<Node*>& stack = task->stack;
    for (Node* root : roots) {
        if (!root->is_accumulator() && task.claim(root)) stack.push_back(root);
    }
    while (!stack.empty()) {
        Node* node = stack.back();
        stack.pop_back();
        for (const Edge& edge : node->edges()) {
            Node* next = edge.node.get();
            if (next && !next->is_accumulator() && task.claim(next)) stack.push_back(next);
        }
    }
    // 2. order: a node's inputs were created before it, so descending sequence numbers are a
    // topological order; each node then runs once, however many paths reach it.
    std::sort(task->nodes.begin(), task->nodes.end(),
              [](const Node* a, const Node* b) { return a->sequence_nr() > b->sequence_nr(); });
    for (std::size_t i = 0; i < task->nodes.size(); ++i) task->nodes[i]->task_slot_ = i;
    task->buffers.resize(task->nodes.size());
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

// Where a gradient for `target` goes: a numbered node's buffer, a leaf's grad (backward) or the
// result of a captured leaf (grad). Gradients for leaves grad() does not want are dropped.
void deliver(GraphTask& task, Node* target, Var g, std::vector<Var>* results) {
    if (!target->is_accumulator()) {
        accumulate(task->buffers[task.slot(target)], std::move(g));
        return;
    }
    if (!results) {
        target->apply(g, 0);
        return;
    }
    auto it = std::lower_bound(task->leaf_captures.begin(), task->leaf_captures.end(), std::make_pair(target, std::size_t{0}));
    for (; it != task->leaf_captures.end() && it->first == target; ++it) accumulate((*results)[it->second], g);
}

bool wanted(const GraphTask& task, const Node* target, bool capturing) {
    if (!target) return false;
    if (!target->is_accumulator()) return task->needed[task.slot(target)];
    if (!capturing) return true;
    auto it = std::lower_bound(task->leaf_captures.begin(), task->leaf_captures.end(),
                               std::make_pair(const_cast<Node*>(target), std::size_t{0}));
    return it != task->leaf_captures.end() && it->first == target;
}

// Anomaly mode: the first backward formula that returns a non-finite gradient is named.
void check_backward_anomaly(const Node& node, const Grads& grads) {
    for (std::size_t i = 0; i < grads.size(); ++i) {
        if (!grads[i].defined()) continue;
        if (const auto bad = first_nonfinite(grads[i].value())) {
            throw GraphError("anomaly detection", std::string("the backward of '") + node.name() +
                                                      "' produced " + describe_nonfinite(grads[i].value(), *bad) +
                                                      " in the gradient for its input " + std::to_string(i));
        }
    }
}

// One node of run(): its backward formula, and the results delivered to the nodes below it.
void run_node(GraphTask& task, std::size_t k, const std::vector<std::vector<std::size_t>>* captures,
              std::vector<Var>* results, bool retain_graph) {
    if (!task->needed[k] || !task->buffers[k].defined()) return;
    Node* node = task->nodes[k];
    Var grad_output = std::move(task->buffers[k]);
    if (captures) {
        for (std::size_t input : (*captures)[k]) (*results)[input] = grad_output;
    }
    const Edges& edges = node->edges();
    std::uint32_t needs = 0;
    for (std::size_t i = 0; i < edges.size() && i < 32; ++i) {
        if (wanted(task, edges[i].node.get(), captures != nullptr)) needs |= 1u << i;
    }
    if (needs == 0 && edges.size() <= 32) return;
    Grads grads;
    if (AnomalyMode::enabled()) {
        {
            InBackwardFormula formula;
            grads = node->apply(grad_output, needs);
        }
        check_backward_anomaly(*node, grads);
    } else {
        grads = node->apply(grad_output, needs);
    }
    if (!retain_graph) node->release_saved();
    for (std::size_t i = 0; i < edges.size() && i < grads.size(); ++i) {
        if (!grads[i].defined() || !wanted(task, edges[i].node.get(), captures != nullptr)) continue;
        Var g = std::move(grads[i]);
        if (g.shape() != edges[i].shape) g = sum_to(g, edges[i].shape);
        deliver(task, edges[i].node.get(), std::move(g), results);
    }
}

// The leaf an accumulator adds into, for on_leaf_done (null once the leaf was destroyed).
void report_leaf(Node* accumulator, const std::function<void(const VarImpl*)>& on_leaf_done) {
    if (const VarImpl* leaf = static_cast<GradAccumulator*>(accumulator)->leaf()) on_leaf_done(leaf);
}

// Which accumulators receive their last gradient from node k: the largest k with an edge to them.
void find_last_uses(GraphTask& task) {
    std::unordered_map<Node*, std::size_t> last;
    for (std::size_t k = 0; k < task->nodes.size(); ++k) {
        for (const Edge& edge : task->nodes[k]->edges()) {
            if (edge.node && edge.node->is_accumulator()) last[edge.node.get()] = k;
        }
    }
    task->leaves_done_after.resize(task->nodes.size());
    for (const auto& [accumulator, k] : last) task->leaves_done_after[k].push_back(accumulator);
}

// 3. run. With `captures` (grad()), the gradient reaching each captured node is returned and
// leaves are untouched; without (backward()), gradients are added into the leaves, and
// on_leaf_done (when set) hears of each leaf once the node that last feeds it has run.
void run(GraphTask& task, const std::vector<std::vector<std::size_t>>* captures, std::vector<Var>* results,
         bool create_graph, bool retain_graph, const std::function<void(const VarImpl*)>& on_leaf_done) {
    EnableGradGuard mode(create_graph);
    const bool report = on_leaf_done && !captures;
    if (report) find_last_uses(task);
    for (std::size_t k = 0; k < task->nodes.size(); ++k) {
        run_node(task, k, captures, results, retain_graph);
        if (report) {
            for (Node* accumulator : task->leaves_done_after[k]) report_leaf(accumulator, on_leaf_done);
        }
    }
}

// Without inputs (backward()), gradients go into the leaves; with them (grad()), they are returned.
std::vector<Var> differentiate(std::span<const Var> outputs, std::optional<std::span<const Var>> inputs,
                               std::span<const Var> grad_outputs, const GradOptions& options, const char* where) {
    if (!grad_outputs.empty() && grad_outputs.size() != outputs.size()) {
        throw GraphError(where, std::to_string(outputs.size()) + " outputs but " + std::to_string(grad_outputs.size()) +
                                    " grad_outputs");
    }
    GraphTask task;
    std::vector<NodePtr>& roots = task->roots;
    std::vector<Node*>& root_ptrs = task->root_ptrs;
    std::vector<Var>& seeds = task->seeds;
    for (std::size_t i = 0; i < outputs.size(); ++i) {
        if (!outputs[i].requires_grad()) {
            throw GraphError(where, "output " + std::to_string(i) +
                                        " does not require grad: nothing it was computed from requires grad, "
                                        "or it was computed under NoGradGuard");
        }
        roots.push_back(gradient_edge(outputs[i]));
        root_ptrs.push_back(roots.back().get());
        seeds.push_back(implicit_grad_output(outputs[i], grad_outputs.empty() ? Var() : grad_outputs[i], where, i));
    }
    collect(task, root_ptrs);

    std::vector<std::vector<std::size_t>>& captures = task->captures;
    std::vector<NodePtr>& input_edges = task->input_edges;
    std::vector<Var> results;
    if (inputs) {
        captures.resize(task->nodes.size());
        results.resize(inputs->size());
        task->needed.assign(task->nodes.size(), 0);
        for (std::size_t j = 0; j < inputs->size(); ++j) {
            if (!(*inputs)[j].requires_grad()) {
                throw GraphError(where, "input " + std::to_string(j) + " does not require grad");
            }
            input_edges.push_back(gradient_edge((*inputs)[j]));
            Node* node = input_edges.back().get();
            if (node->is_accumulator()) {
                task->leaf_captures.emplace_back(node, j);
            } else if (task.owns(node)) {
                captures[task.slot(node)].push_back(j);
                task->needed[task.slot(node)] = 1;
            }
        }
        std::sort(task->leaf_captures.begin(), task->leaf_captures.end());
        // A node is needed when a captured node lies below it; scan upwards (ascending order).
        for (std::size_t k = task->nodes.size(); k-- > 0;) {
            for (const Edge& edge : task->nodes[k]->edges()) {
                if (wanted(task, edge.node.get(), true)) task->needed[k] = 1;
            }
        }
    } else {
        task->needed.assign(task->nodes.size(), 1);
    }

    {
        EnableGradGuard mode(options.create_graph);
        for (std::size_t i = 0; i < root_ptrs.size(); ++i) {
            if (root_ptrs[i]->is_accumulator() && inputs && !wanted(task, root_ptrs[i], true)) continue;
            deliver(task, root_ptrs[i], seeds[i], inputs ? &results : nullptr);
        }
    }
    const bool retain = options.retain_graph.value_or(options.create_graph);
    if (!inputs && options.on_leaf_done) {  // a loss that is itself a leaf: its seed was its whole gradient
        for (Node* root : root_ptrs) {
            if (root->is_accumulator()) report_leaf(root, options.on_leaf_done);
        }
    }
    run(task, inputs ? &captures : nullptr, inputs ? &results : nullptr, options.create_graph, retain,
        options.on_leaf_done);

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
    differentiate({&loss, 1}, std::nullopt, {&grad_output, 1}, options, "backward");
}

std::vector<Var> grad(const std::vector<Var>& outputs, const std::vector<Var>& inputs,
                      const std::vector<Var>& grad_outputs, GradOptions options) {
    return differentiate(outputs, inputs, grad_outputs, options, "grad");
}

Var grad(const Var& output, const Var& input, const Var& grad_output, GradOptions options) {
    return differentiate({&output, 1}, std::span<const Var>(&input, 1), {&grad_output, 1}, options, "grad")[0];
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
