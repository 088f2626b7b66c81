#pragma once
// Module: the base of every layer and model. A module owns its parameters (leaf Vars that require
// grad) and buffers (state that is saved but not trained, e.g. BatchNorm's running statistics) as
// members, and registers them, and its child modules, by name. Names are what checkpoints store:
// "l1.weight" is the parameter "weight" of the child "l1".
//
// Note [Modules are not copyable]
// Registration stores pointers to the registering object's own members, so a copied or moved
// module would point into its source. Modules are therefore neither copyable nor movable: build
// them in place (as members, or with std::make_shared) and share them by pointer. Sequential holds
// its children by shared_ptr for that reason.
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "odenet/autodiff/var.hpp"

namespace odenet::nn {

class Module {
public:
    Module() = default;
    virtual ~Module() = default;
    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;
    Module(Module&&) = delete;
    Module& operator=(Module&&) = delete;

    /// All parameters, recursively, in registration order (own first, then each child's).
    std::vector<Var> parameters() const;
    /// Parameters with dotted names ("l1.weight"), in the order of parameters().
    std::vector<std::pair<std::string, Var>> named_parameters() const;
    /// Buffers with dotted names ("bn.running_mean").
    std::vector<std::pair<std::string, Var>> named_buffers() const;
    /// Direct children with their names.
    std::vector<std::pair<std::string, Module*>> children() const;
    /// Number of parameter elements (the usual "model size").
    std::size_t parameter_count() const;

    /// Sets training mode (dropout active, batch statistics) here and in every child.
    void train(bool on = true);
    void eval() { train(false); }
    bool is_training() const { return training_; }

    /// Converts every parameter and buffer to `dtype` in place. The Vars keep their identity, so
    /// an optimizer built on parameters() keeps working; their gradients are cleared.
    void to(Dtype dtype);
    /// Clears every parameter's gradient.
    void zero_grad();

protected:
    /// Registers a member Var as parameter `name` and marks it as requiring grad. `name` must be
    /// non-empty, without '.', and unused in this module (ValueError otherwise).
    void register_parameter(const std::string& name, Var& parameter);
    /// Registers a member Var as a buffer (saved in checkpoints, converted by to(), not trained).
    void register_buffer(const std::string& name, Var& buffer);
    /// Registers a member module as child `name`; it must outlive this module's use (it is a member).
    void register_module(const std::string& name, Module& child);
    /// Registers a child this module shares ownership of (Sequential, dynamically built models).
    void register_module(const std::string& name, std::shared_ptr<Module> child);

private:
    void check_name(const std::string& name) const;
    void collect(const std::string& prefix, bool buffers, std::vector<std::pair<std::string, Var>>& out) const;

    std::vector<std::pair<std::string, Var*>> parameters_;
    std::vector<std::pair<std::string, Var*>> buffers_;
    std::vector<std::pair<std::string, Module*>> children_;
    std::vector<std::shared_ptr<Module>> owned_;
    bool training_ = true;
};

/// A module with one input and one output: what Sequential chains.
class Layer : public Module {
public:
    virtual Var forward(const Var& x) = 0;
    Var operator()(const Var& x) { return forward(x); }
};

/// A time-conditioned module: forward(t, x), t a scalar Var (see concat_layers.hpp).
class TimeLayer : public Module {
public:
    virtual Var forward(const Var& t, const Var& x) = 0;
    Var operator()(const Var& t, const Var& x) { return forward(t, x); }
};

}  // namespace odenet::nn
