#include "odenet/examples/flags.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <sstream>
#include <vector>

namespace odenet::examples {

namespace {

// "a,,b," -> {"a", "", "b", ""}: every item, empty ones included, so that they can be refused.
std::vector<std::string> comma_items(const std::string& input) {
    std::vector<std::string> items;
    std::stringstream ss(input);
    for (std::string item; std::getline(ss, item, ',');) items.push_back(item);
    if (!input.empty() && input.back() == ',') items.emplace_back();
    return items;
}

// The whole string as a double (from_chars: no locale, no leading spaces; "nan" and "inf" parse).
std::optional<double> parse_real(std::string_view s) {
    if (s.starts_with('+')) s.remove_prefix(1);
    double v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
}

// The whole string as a long long; a real such as "1e3" counts when it is whole and fits.
std::optional<long long> parse_whole(std::string_view s) {
    std::string_view digits = s.starts_with('+') ? s.substr(1) : s;
    long long v = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (!digits.empty() && ec == std::errc() && end == digits.data() + digits.size()) return v;
    const std::optional<double> d = parse_real(s);
    // 2^63 is exactly representable; anything at or beyond it does not fit.
    if (!d || !std::isfinite(*d) || *d != std::floor(*d) || std::fabs(*d) >= 9223372036854775808.0) return std::nullopt;
    return static_cast<long long>(*d);
}

std::string number_str(double x) {
    std::ostringstream ss;
    ss << x;
    return ss.str();
}

std::string describe(const Interval& in) {
    const bool has_lo = std::isfinite(in.lo), has_hi = std::isfinite(in.hi);
    if (has_lo && has_hi) {
        return std::string("in ") + (in.lo_open ? "(" : "[") + number_str(in.lo) + ", " + number_str(in.hi) +
               (in.hi_open ? ")" : "]");
    }
    if (has_lo) return (in.lo_open ? "> " : ">= ") + number_str(in.lo);
    if (has_hi) return (in.hi_open ? "< " : "<= ") + number_str(in.hi);
    return "";
}

bool contains(const Interval& in, double x) {
    const bool above = in.lo_open ? x > in.lo : x >= in.lo;
    const bool below = in.hi_open ? x < in.hi : x <= in.hi;
    return above && below;
}

std::string whole_range(long long lo, long long hi) {
    return "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
}

}  // namespace

CLI::Validator whole_number(long long lo, long long hi) {
    const std::string allowed = "a whole number in " + whole_range(lo, hi);
    return CLI::Validator(
        [lo, hi, allowed](std::string& input) -> std::string {
            const std::optional<long long> v = parse_whole(input);
            if (!v || *v < lo || *v > hi) return input + " is not " + allowed;
            input = std::to_string(*v);  // "1e3" -> "1000", which CLI11's integer conversion reads
            return {};
        },
        whole_range(lo, hi), "whole_number");
}

CLI::Validator finite_number(Interval allowed) {
    const std::string what = "a finite number " + describe(allowed);
    return CLI::Validator(
        [allowed, what](std::string& input) -> std::string {
            const std::optional<double> v = parse_real(input);
            if (!v || !std::isfinite(*v) || !contains(allowed, *v)) return input + " is not " + what;
            return {};
        },
        "finite " + describe(allowed), "finite_number");
}

CLI::Validator whole_number_list(std::size_t min_items, std::size_t max_items, long long lo, long long hi) {
    return CLI::Validator(
        [=](std::string& input) -> std::string {
            const std::vector<std::string> items = comma_items(input);
            if (items.size() < min_items || items.size() > max_items) {
                return "'" + input + "' is not " + std::to_string(min_items) + " to " + std::to_string(max_items) +
                       " comma-separated whole numbers in " + whole_range(lo, hi);
            }
            std::string normalized;
            for (const std::string& item : items) {
                const std::optional<long long> v = parse_whole(item);
                if (!v || *v < lo || *v > hi) {
                    const std::string context = items.size() > 1 ? " (in '" + input + "')" : "";
                    return (item.empty() ? "''" : item) + context + " is not a whole number in " + whole_range(lo, hi);
                }
                normalized += (normalized.empty() ? "" : ",") + std::to_string(*v);
            }
            input = normalized;  // "1e2,64" -> "100,64": what the program's own split reads
            return {};
        },
        std::to_string(min_items) + " to " + std::to_string(max_items) + " in " + whole_range(lo, hi),
        "whole_number_list");
}

CLI::Validator name_list(std::size_t min_items, std::size_t max_items, const std::vector<std::string>& valid) {
    std::string choices;
    for (const std::string& v : valid) choices += (choices.empty() ? "" : ", ") + v;
    return CLI::Validator(
        [=](std::string& input) -> std::string {
            const std::vector<std::string> items = comma_items(input);
            if (items.size() < min_items || items.size() > max_items)
                return "'" + input + "' is not " + std::to_string(min_items) + " to " + std::to_string(max_items) +
                       " comma-separated names of: " + choices;
            for (std::size_t i = 0; i < items.size(); ++i) {
                if (std::find(valid.begin(), valid.end(), items[i]) == valid.end())
                    return "'" + items[i] + "' (in '" + input + "') is not one of: " + choices;
                if (std::find(items.begin(), items.begin() + long(i), items[i]) != items.begin() + long(i))
                    return "'" + items[i] + "' is named twice in '" + input + "'";
            }
            return {};
        },
        std::to_string(min_items) + " to " + std::to_string(max_items) + " of " + choices, "name_list");
}

CLI::Validator non_empty() {
    return CLI::Validator([](std::string& input) -> std::string { return input.empty() ? "an empty name is not allowed" : ""; },
                          "non-empty", "non_empty");
}

void one_line_errors(CLI::App& app, const std::string& program) {
    app.failure_message([program](const CLI::App*, const CLI::Error& e) {
        return program + ": " + e.what() + " (see --help)\n";
    });
}

}  // namespace odenet::examples
