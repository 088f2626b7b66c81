#include "odenet/autodiff/anomaly_mode.hpp"

#include <cmath>
#include <sstream>

#include "odenet/core/error.hpp"

namespace odenet {

namespace {
thread_local bool anomaly_enabled = false;
thread_local int backward_depth = 0;
}  // namespace

bool AnomalyMode::enabled() { return anomaly_enabled; }
void AnomalyMode::set_enabled(bool enabled) { anomaly_enabled = enabled; }
bool AnomalyMode::checks_forward() { return anomaly_enabled && backward_depth == 0; }

InBackwardFormula::InBackwardFormula() { ++backward_depth; }
InBackwardFormula::~InBackwardFormula() { --backward_depth; }

std::optional<std::size_t> first_nonfinite(const Value& v) {
    if (!v.defined()) return std::nullopt;
    return v.visit([](const auto& t) -> std::optional<std::size_t> {
        for (std::size_t i = 0, n = t.size(); i < n; ++i)
            if (!std::isfinite(t.data()[i])) return i;
        return std::nullopt;
    });
}

std::string describe_nonfinite(const Value& v, std::size_t flat) {
    const double x = v.visit([&](const auto& t) { return double(t.data()[flat]); });
    std::ostringstream s;
    if (std::isnan(x)) {
        s << "nan";  // one spelling, whatever the sign bit
    } else {
        s << x;
    }
    s << " at flat index " << flat << " of shape " << shape_str(v.shape());
    return s.str();
}

void check_forward_anomaly(const char* name, const Value& out, const std::vector<const Var*>& inputs) {
    const auto bad = first_nonfinite(out);
    if (!bad) return;
    std::string cause = "its inputs were finite, so this op produced it";
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (inputs[i]->defined() && first_nonfinite(inputs[i]->value())) {
            cause = "input " + std::to_string(i) + " was already non-finite, so it came from earlier";
            break;
        }
    }
    throw GraphError("anomaly detection", std::string("the forward of '") + name + "' produced " +
                                              describe_nonfinite(out, *bad) + " (" + cause + ")");
}

}  // namespace odenet
