#pragma once
// An intrusive, reference-counted pointer to a graph node. Intrusive (one allocation per node)
// because recording cost is per op; and the count reaching zero goes through
// release_node(), which destroys long chains iteratively. See Note [Destroying long graphs].
#include <atomic>
#include <utility>

namespace odenet {

class Node;
void release_node(Node* node) noexcept;
void retain_node(Node* node) noexcept;

class NodePtr {
public:
    NodePtr() = default;
    explicit NodePtr(Node* node) noexcept : p_(node) {
        if (p_) retain_node(p_);
    }
    NodePtr(const NodePtr& other) noexcept : NodePtr(other.p_) {}
    NodePtr(NodePtr&& other) noexcept : p_(std::exchange(other.p_, nullptr)) {}
    NodePtr& operator=(NodePtr other) noexcept {
        std::swap(p_, other.p_);
        return *this;
    }
    ~NodePtr() {
        if (p_) release_node(p_);
    }
    Node* get() const noexcept { return p_; }
    Node* operator->() const noexcept { return p_; }
    Node& operator*() const noexcept { return *p_; }
    explicit operator bool() const noexcept { return p_ != nullptr; }
    void reset() noexcept { NodePtr().swap(*this); }
    void swap(NodePtr& other) noexcept { std::swap(p_, other.p_); }

private:
    Node* p_ = nullptr;
};

}  // namespace odenet
