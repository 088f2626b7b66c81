#pragma once
// An 8-bit RGB pixel buffer with the drawing primitives the plots need, written to PNG through
// libpng's simplified API. Coordinates are pixels, x to the right and y downwards from the
// top-left corner; drawing outside the image is clipped, never an error.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace odenet::util {

struct Rgb {
    std::uint8_t r = 0, g = 0, b = 0;
    friend bool operator==(const Rgb&, const Rgb&) = default;
};

inline constexpr Rgb kWhite{255, 255, 255};
inline constexpr Rgb kBlack{0, 0, 0};
inline constexpr Rgb kGrey{160, 160, 160};

class Image {
public:
    /// A width x height image filled with `background`. Throws ValueError for a zero size.
    Image(std::size_t width, std::size_t height, Rgb background = kWhite);

    std::size_t width() const noexcept { return width_; }
    std::size_t height() const noexcept { return height_; }
    /// Row-major RGB bytes, 3 * width * height of them.
    const std::vector<std::uint8_t>& bytes() const noexcept { return pixels_; }

    /// The pixel at (x, y). Throws ValueError outside the image.
    Rgb pixel(std::size_t x, std::size_t y) const;
    /// Sets (x, y) to c blended over the current colour with opacity alpha in [0, 1]; ignored
    /// outside the image.
    void plot(long x, long y, Rgb c, double alpha = 1.0);
    void fill_rect(long x0, long y0, long x1, long y1, Rgb c, double alpha = 1.0);  // inclusive corners
    void draw_rect(long x0, long y0, long x1, long y1, Rgb c);
    /// A 1-pixel line (Bresenham) between two pixel positions.
    void draw_line(long x0, long y0, long x1, long y1, Rgb c, double alpha = 1.0);
    /// Text in the built-in 5x7 font (digits, letters, . - + : = ( ) / _ , % and space; lower
    /// case is drawn as upper case; other characters as '?'), top-left at (x, y), `scale`
    /// pixels per font pixel. Returns the width drawn.
    long draw_text(long x, long y, const std::string& text, Rgb c, int scale = 1);

    /// Writes the image as an 8-bit RGB PNG. Atomic: the data go to a temporary file in the
    /// same folder, which is flushed and renamed over `path`, so a reader sees either the old
    /// file or the complete new one. Throws IOError naming the path on any failure.
    void save_png(const std::string& path) const;

private:
    std::size_t width_, height_;
    std::vector<std::uint8_t> pixels_;
};

/// Pixel width of `text` in the built-in font at `scale` (6 font pixels per character).
long text_width(const std::string& text, int scale = 1);
/// Pixel height of a line of the built-in font at `scale`.
inline long text_height(int scale = 1) { return 7L * scale; }

/// Reads a PNG file (any colour type, converted to 8-bit RGB). Throws IOError naming the path.
Image read_png(const std::string& path);

}  // namespace odenet::util
