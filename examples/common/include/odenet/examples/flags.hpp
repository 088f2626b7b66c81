#pragma once
// Command-line checks for the examples. Every number is parsed as a signed value and checked
// against its allowed range before any work starts, so a bad flag ends the program with one line
// naming the flag, the value and what is allowed:
//     mnist: --batch-size: -1 is not a whole number in [1, 60000]
//     toy_density: --kinetic: nan is not a finite number >= 0
// instead of a size_t that wraps around to 2^64 - 1, or a NaN that is silently ignored.
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace odenet::examples {

/// A whole number in [lo, hi]. "1e3" is accepted and rewritten to "1000" for the conversion;
/// "2.5", "abc", "nan" and "" are refused.
CLI::Validator whole_number(long long lo, long long hi);

/// The interval a real-valued flag must lie in; an infinite end means "no bound on that side".
struct Interval {
    double lo = -std::numeric_limits<double>::infinity();
    double hi = std::numeric_limits<double>::infinity();
    bool lo_open = false, hi_open = false;
};
/// A finite number in `allowed`: nan, inf, and anything that is not a whole number string are refused.
CLI::Validator finite_number(Interval allowed);

/// Between min_items and max_items comma-separated whole numbers, each in [lo, hi] ("64,64,64").
CLI::Validator whole_number_list(std::size_t min_items, std::size_t max_items, long long lo, long long hi);

/// Between min_items and max_items comma-separated names, each one of `valid` ("u1,u3").
/// Repeated names are refused too: each names one run.
CLI::Validator name_list(std::size_t min_items, std::size_t max_items, const std::vector<std::string>& valid);

/// A non-empty string (a folder or file name).
CLI::Validator non_empty();

/// add_option for a count or a size: parsed as long long, checked by whole_number(lo, hi), then
/// stored into `target` (any integer type; the check guarantees the value fits). Given twice, the
/// last value counts.
template <class T>
CLI::Option* add_whole(CLI::App& app, const std::string& name, T& target, long long lo, long long hi,
                       const std::string& help) {
    return app
        .add_option_function<long long>(
            name, [&target](const long long& v) { target = static_cast<T>(v); }, help)
        ->check(whole_number(lo, hi))
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)  // as add_option does for a number
        ->default_str(std::to_string(target));
}

/// Makes CLI11 report a parse error as one line, "program: <message>", on stderr.
void one_line_errors(CLI::App& app, const std::string& program);

}  // namespace odenet::examples
