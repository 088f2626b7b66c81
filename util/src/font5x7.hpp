#pragma once
// The built-in 5x7 bitmap font: 7 rows per glyph, top to bottom, bit 4 the leftmost column.
// Our own drawing, covering what plot labels need (numbers in %g form, short words).
#include <array>
#include <cstdint>

namespace odenet::util::detail {

using Glyph = std::array<std::uint8_t, 7>;

/// The glyph for c (lower case maps to upper case; unknown characters to '?').
const Glyph& glyph(char c);

}  // namespace odenet::util::detail
