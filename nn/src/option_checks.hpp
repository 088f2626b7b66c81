#pragma once
// Range checks for optimizer options, shared by RMSprop and Adagrad. Private to nn/src.
// Each throws ValueError("<where>", "<name> must be ..., got <value>"), so that a user reads
// which option was wrong and what it may be. NaN fails every check.
namespace odenet::optim::detail {

/// Requires 0 <= value < inf.
void require_non_negative(const char* where, const char* name, double value);
/// Requires 0 <= value <= 1.
void require_unit_interval(const char* where, const char* name, double value);

}  // namespace odenet::optim::detail
