#include "odenet/nn/checkpoint_io.hpp"

#include <map>

#include "odenet/core/error.hpp"

namespace odenet::nn {

namespace {
const std::string kOptimizerPrefix = "optimizer.";

std::vector<std::pair<std::string, Var>> named_state(const Module& module) {
    auto all = module.named_parameters();
    for (auto& b : module.named_buffers()) all.push_back(std::move(b));
    return all;
}

NamedValues with_optimizer(const Module& module, const optim::Optimizer* optimizer) {
    NamedValues out = state_dict(module);
    for (const auto& [name, value] : out) {
        if (name.starts_with(kOptimizerPrefix)) {
            throw ValueError("nn::save", "module entry '" + name + "' clashes with the optimizer's prefix");
        }
    }
    if (optimizer) {
        for (auto& [name, value] : optimizer->state_dict()) out.emplace_back(kOptimizerPrefix + name, std::move(value));
    }
    return out;
}

void load_impl(Module& module, optim::Optimizer* optimizer, const std::string& path) {
    NamedValues file = load_npz(path);
    std::map<std::string, Value> entries;
    optim::NamedTensors optimizer_state;
    for (auto& [name, value] : file) {
        if (name.starts_with(kOptimizerPrefix)) {
            optimizer_state.emplace_back(name.substr(kOptimizerPrefix.size()), std::move(value));
        } else {
            entries.emplace(name, std::move(value));
        }
    }
    // 1. Validate every module entry.
    const auto targets = named_state(module);
    for (const auto& [name, var] : targets) {
        const auto it = entries.find(name);
        if (it == entries.end()) throw IOError("nn::load", path, "missing '" + name + "'");
        const Value& v = it->second;
        if (v.shape() != var.shape()) {
            throw IOError("nn::load", path, "'" + name + "' has shape " + shape_str(v.shape()) + ", expected " +
                                                shape_str(var.shape()));
        }
        if (v.dtype() != var.dtype()) {
            throw IOError("nn::load", path, "'" + name + "' is " + dtype_name(v.dtype()) + ", expected " +
                                                dtype_name(var.dtype()));
        }
    }
    if (entries.size() != targets.size()) {
        for (const auto& [name, value] : entries) {
            bool known = false;
            for (const auto& t : targets) known = known || t.first == name;
            if (!known) throw IOError("nn::load", path, "unexpected '" + name + "' (the module has no such entry)");
        }
    }
    // 2. The optimizer validates its whole state before assigning any of it.
    if (optimizer) {
        if (optimizer_state.empty()) throw IOError("nn::load", path, "no optimizer state in the file");
        try {
            optimizer->load_state_dict(optimizer_state);
        } catch (const ValueError& e) {
            throw IOError("nn::load", path, "optimizer state: " + e.message());
        }
    }
    // 3. Assign (cannot fail: parameters and buffers are leaves).
    for (const auto& [name, var] : targets) {
        Var v = var;
        v.set_value(std::move(entries.at(name)));
    }
}
}  // namespace

NamedValues state_dict(const Module& module) {
    NamedValues out;
    for (const auto& [name, var] : named_state(module)) out.emplace_back(name, var.value());
    return out;
}

void save(const Module& module, const std::string& path) { save_npz(path, with_optimizer(module, nullptr)); }

void save(const Module& module, const optim::Optimizer& optimizer, const std::string& path) {
    save_npz(path, with_optimizer(module, &optimizer));
}

void load(Module& module, const std::string& path) { load_impl(module, nullptr, path); }

void load(Module& module, optim::Optimizer& optimizer, const std::string& path) { load_impl(module, &optimizer, path); }

}  // namespace odenet::nn
