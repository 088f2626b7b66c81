#pragma once
// Anomaly detection, as torch.autograd.detect_anomaly: while a DetectAnomalyGuard lives on a
// thread, every op recorded there checks its result, and every backward formula the engine runs
// there checks the gradients it returns. The first non-finite value raises a GraphError naming
// the op, whether it was the forward or the backward, and where in the tensor. It costs one pass
// over every result, so it is for finding a NaN, not for training runs.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "odenet/autodiff/var.hpp"

namespace odenet {

class AnomalyMode {
public:
    static bool enabled();
    static void set_enabled(bool enabled);
    /// Whether record() checks results: enabled, and not inside a backward formula (the engine
    /// checks a formula's gradients itself, so that the node is named, not an op inside it).
    static bool checks_forward();
};

/// Suppresses the forward checks while a backward formula runs (engine.cpp).
class InBackwardFormula {
public:
    InBackwardFormula();
    ~InBackwardFormula();
    InBackwardFormula(const InBackwardFormula&) = delete;
    InBackwardFormula& operator=(const InBackwardFormula&) = delete;
};

/// Anomaly detection is on (on this thread) while it lives.
class DetectAnomalyGuard {
public:
    DetectAnomalyGuard() : previous_(AnomalyMode::enabled()) { AnomalyMode::set_enabled(true); }
    ~DetectAnomalyGuard() { AnomalyMode::set_enabled(previous_); }
    DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
    DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

private:
    bool previous_;
};

/// Flat index of the first NaN or Inf in `v`, if any.
std::optional<std::size_t> first_nonfinite(const Value& v);
/// "nan at flat index 3 of shape (2, 2)" for the entry at `flat` of `v` (nan, inf or -inf).
std::string describe_nonfinite(const Value& v, std::size_t flat);

/// For record(): throws GraphError if `out` of op `name` holds a non-finite value, saying
/// whether its inputs were already non-finite (then the op only passed it on).
void check_forward_anomaly(const char* name, const Value& out, const std::vector<const Var*>& inputs);

}  // namespace odenet
