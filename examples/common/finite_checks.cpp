#include "odenet/examples/finite_checks.hpp"

#include "odenet/autodiff/anomaly_mode.hpp"

namespace odenet::examples {

namespace {

std::optional<std::string> check(const std::string& name, const Value& v) {
    if (!v.defined()) return std::nullopt;
    if (const auto bad = first_nonfinite(v)) return "'" + name + "' holds " + describe_nonfinite(v, *bad);
    return std::nullopt;
}

}  // namespace

std::optional<std::string> first_nonfinite_value(const NamedVars& named) {
    for (const auto& [name, var] : named)
        if (auto bad = check(name, var.value())) return bad;
    return std::nullopt;
}

std::optional<std::string> first_nonfinite_grad(const NamedVars& named) {
    for (const auto& [name, var] : named)
        if (var.grad().defined())
            if (auto bad = check(name, var.grad().value())) return bad;
    return std::nullopt;
}

std::optional<std::string> first_nonfinite_entry(const nn::NamedValues& entries) {
    for (const auto& [name, value] : entries)
        if (auto bad = check(name, value)) return bad;
    return std::nullopt;
}

}  // namespace odenet::examples
