#include "odenet/nn/module.hpp"

#include <xtensor/xarray.hpp>

#include "odenet/core/error.hpp"

namespace odenet::nn {

void Module::check_name(const std::string& name) const {
    if (name.empty() || name.find('.') != std::string::npos) {
        throw ValueError("Module::register", "invalid name '" + name + "' (must be non-empty and contain no '.')");
    }
    auto taken = [&](const auto& list) {
        for (const auto& [n, p] : list) {
            if (n == name) return true;
        }
        return false;
    };
    if (taken(parameters_) || taken(buffers_) || taken(children_)) {
        throw ValueError("Module::register", "name '" + name + "' is already registered");
    }
}

void Module::register_parameter(const std::string& name, Var& parameter) {
    check_name(name);
    if (!parameter.defined()) throw ValueError("Module::register_parameter", "parameter '" + name + "' has no value");
    parameter.set_requires_grad(true);
    parameters_.emplace_back(name, &parameter);
}

void Module::register_buffer(const std::string& name, Var& buffer) {
    check_name(name);
    if (!buffer.defined()) throw ValueError("Module::register_buffer", "buffer '" + name + "' has no value");
    buffers_.emplace_back(name, &buffer);
}

void Module::register_module(const std::string& name, Module& child) {
    check_name(name);
    if (&child == this) throw ValueError("Module::register_module", "a module cannot be its own child");
    children_.emplace_back(name, &child);
}

void Module::register_module(const std::string& name, std::shared_ptr<Module> child) {
    if (!child) throw ValueError("Module::register_module", "child '" + name + "' is null");
    register_module(name, *child);
    owned_.push_back(std::move(child));
}

void Module::collect(const std::string& prefix, bool buffers, std::vector<std::pair<std::string, Var>>& out) const {
    for (const auto& [name, v] : buffers ? buffers_ : parameters_) out.emplace_back(prefix + name, *v);
    for (const auto& [name, child] : children_) child->collect(prefix + name + ".", buffers, out);
}

std::vector<std::pair<std::string, Var>> Module::named_parameters() const {
    std::vector<std::pair<std::string, Var>> out;
    collect("", false, out);
    return out;
}

std::vector<std::pair<std::string, Var>> Module::named_buffers() const {
    std::vector<std::pair<std::string, Var>> out;
    collect("", true, out);
    return out;
}

std::vector<Var> Module::parameters() const {
    std::vector<Var> out;
    for (auto& [name, v] : named_parameters()) out.push_back(std::move(v));
    return out;
}

std::vector<std::pair<std::string, Module*>> Module::children() const { return children_; }

std::size_t Module::parameter_count() const {
    std::size_t n = 0;
    for (const Var& p : parameters()) n += p.numel();
    return n;
}

void Module::train(bool on) {
    training_ = on;
    for (auto& [name, child] : children_) child->train(on);
}

namespace {
Value converted(const Value& v, Dtype dtype) {
    return v.visit([&](const auto& t) -> Value {
        if (dtype == Dtype::float32) return Value(Tensor<float>(xt::cast<float>(t)));
        return Value(Tensor<double>(xt::cast<double>(t)));
    });
}
}  // namespace

void Module::to(Dtype dtype) {
    auto convert = [&](Var& v) {
        if (v.dtype() == dtype) return;
        v.set_value(converted(v.value(), dtype));
        v.zero_grad();
    };
    for (auto& [name, v] : named_parameters()) convert(v);
    for (auto& [name, v] : named_buffers()) convert(v);
}

void Module::zero_grad() {
    for (Var& p : parameters()) p.zero_grad();
}

}  // namespace odenet::nn
