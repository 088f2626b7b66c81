#pragma once
// Non-finite values in a model, found before they are saved or stepped on: what stops a diverged
// run with a message instead of writing NaN into a checkpoint.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "odenet/autodiff/var.hpp"
#include "odenet/nn/npz.hpp"

namespace odenet::examples {

using NamedVars = std::vector<std::pair<std::string, Var>>;

/// "'0.weight' holds nan at flat index 3 of shape (2, 2)" for the first entry holding NaN or Inf.
std::optional<std::string> first_nonfinite_value(const NamedVars& named);
/// The same for the gradients (entries without a gradient are skipped).
std::optional<std::string> first_nonfinite_grad(const NamedVars& named);
/// The same for the entries of a checkpoint file.
std::optional<std::string> first_nonfinite_entry(const nn::NamedValues& entries);

}  // namespace odenet::examples
