#pragma once
// An enum's names written once, as one table that both directions read: name(value) for
// messages and file headers, parse(text) for flags and option strings, and the list of valid
// names for the error a wrong one gets.
//   constexpr EnumNames kGradNames{std::array{std::pair{Grad::direct, "direct"}, ...}};
#include <array>
#include <cstddef>
#include <string>
#include <utility>

#include "odenet/core/error.hpp"

namespace odenet {

template <class E, std::size_t N>
class EnumNames {
public:
    constexpr explicit EnumNames(std::array<std::pair<E, const char*>, N> entries) : entries_(entries) {}

    /// The value's name; "?" for a value outside the table (a cast integer).
    const char* name(E value) const {
        for (const auto& [v, n] : entries_)
            if (v == value) return n;
        return "?";
    }

    /// The value named `text`. Throws ValueError(function, "unknown <what> '<text>'; valid: a, b").
    E parse(const std::string& text, const char* function, const char* what) const {
        for (const auto& [v, n] : entries_)
            if (text == n) return v;
        throw ValueError(function, std::string("unknown ") + what + " '" + text + "'; valid: " + valid());
    }

    /// "a, b, c", in table order.
    std::string valid() const {
        std::string s;
        for (const auto& [v, n] : entries_) s += (s.empty() ? "" : ", ") + std::string(n);
        return s;
    }

private:
    std::array<std::pair<E, const char*>, N> entries_;
};

}  // namespace odenet
