#include "odenet/util/png_image.hpp"

#include <png.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include "font5x7.hpp"
#include "odenet/core/error.hpp"

namespace odenet::util {

Image::Image(std::size_t width, std::size_t height, Rgb background) : width_(width), height_(height) {
    if (width == 0 || height == 0) {
        throw ValueError("Image", "size must be positive, got " + std::to_string(width) + "x" + std::to_string(height));
    }
    pixels_.resize(3 * width * height);
    for (std::size_t i = 0; i < width * height; ++i) {
        pixels_[3 * i] = background.r;
        pixels_[3 * i + 1] = background.g;
        pixels_[3 * i + 2] = background.b;
    }
}

Rgb Image::pixel(std::size_t x, std::size_t y) const {
    if (x >= width_ || y >= height_) {
        throw ValueError("Image::pixel", "(" + std::to_string(x) + ", " + std::to_string(y) + ") is outside the " +
                                             std::to_string(width_) + "x" + std::to_string(height_) + " image");
    }
    const std::uint8_t* p = &pixels_[3 * (y * width_ + x)];
    return {p[0], p[1], p[2]};
}

void Image::plot(long x, long y, Rgb c, double alpha) {
    if (x < 0 || y < 0 || x >= static_cast<long>(width_) || y >= static_cast<long>(height_)) return;
    std::uint8_t* p = &pixels_[3 * (static_cast<std::size_t>(y) * width_ + static_cast<std::size_t>(x))];
    const double a = std::clamp(alpha, 0.0, 1.0);
    const std::uint8_t src[3] = {c.r, c.g, c.b};
    for (int k = 0; k < 3; ++k) p[k] = static_cast<std::uint8_t>(std::lround(a * src[k] + (1.0 - a) * p[k]));
}

void Image::fill_rect(long x0, long y0, long x1, long y1, Rgb c, double alpha) {
    for (long y = std::min(y0, y1); y <= std::max(y0, y1); ++y) {
        for (long x = std::min(x0, x1); x <= std::max(x0, x1); ++x) plot(x, y, c, alpha);
    }
}

void Image::draw_rect(long x0, long y0, long x1, long y1, Rgb c) {
    draw_line(x0, y0, x1, y0, c);
    draw_line(x1, y0, x1, y1, c);
    draw_line(x1, y1, x0, y1, c);
    draw_line(x0, y1, x0, y0, c);
}

namespace {

// Liang & Barsky (1984): clips the segment to [lo_x, hi_x] x [lo_y, hi_y]; false if nothing is
// left. Keeps Bresenham's loop proportional to the visible length, so a diverged trajectory
// point at 1e12 pixels costs no more than one at the border.
bool clip_segment(double& x0, double& y0, double& x1, double& y1, double lo_x, double hi_x, double lo_y, double hi_y) {
    double t0 = 0.0, t1 = 1.0;
    const double dx = x1 - x0, dy = y1 - y0;
    const double p[4] = {-dx, dx, -dy, dy};
    const double q[4] = {x0 - lo_x, hi_x - x0, y0 - lo_y, hi_y - y0};
    for (int i = 0; i < 4; ++i) {
        if (p[i] == 0.0) {
            if (q[i] < 0.0) return false;
            continue;
        }
        const double t = q[i] / p[i];
        if (p[i] < 0.0) t0 = std::max(t0, t);
        else t1 = std::min(t1, t);
        if (t0 > t1) return false;
    }
    const double ax = x0 + t0 * dx, ay = y0 + t0 * dy;
    x1 = x0 + t1 * dx, y1 = y0 + t1 * dy;
    x0 = ax, y0 = ay;
    return true;
}

}  // namespace

void Image::draw_line(long x0, long y0, long x1, long y1, Rgb c, double alpha) {
    double fx0 = double(x0), fy0 = double(y0), fx1 = double(x1), fy1 = double(y1);
    if (!clip_segment(fx0, fy0, fx1, fy1, -1.0, double(width_), -1.0, double(height_))) return;
    x0 = std::lround(fx0), y0 = std::lround(fy0), x1 = std::lround(fx1), y1 = std::lround(fy1);
    // Bresenham (1965), all octants; each pixel is set once, so alpha does not accumulate.
    const long dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0);
    const long sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    long err = dx + dy;
    for (;;) {
        plot(x0, y0, c, alpha);
        if (x0 == x1 && y0 == y1) break;
        const long e2 = 2 * err;
        if (e2 >= dy) {
            err += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            err += dx;
            y0 += sy;
        }
    }
}

long text_width(const std::string& text, int scale) { return static_cast<long>(text.size()) * 6L * scale; }

long Image::draw_text(long x, long y, const std::string& text, Rgb c, int scale) {
    long cx = x;
    for (char ch : text) {
        const detail::Glyph& g = detail::glyph(ch);
        for (long row = 0; row < 7; ++row) {
            for (long col = 0; col < 5; ++col) {
                if (g[row] & (0x10 >> col)) fill_rect(cx + col * scale, y + row * scale, cx + (col + 1) * scale - 1, y + (row + 1) * scale - 1, c);
            }
        }
        cx += 6L * scale;
    }
    return cx - x;
}

void Image::save_png(const std::string& path) const {
    const char* where = "save_png";
    // The temporary file sits next to the target so that rename() stays within one filesystem.
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) throw IOError(where, path, std::string("cannot create ") + tmp + ": " + std::strerror(errno));
    png_image image;
    std::memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = static_cast<png_uint_32>(width_);
    image.height = static_cast<png_uint_32>(height_);
    image.format = PNG_FORMAT_RGB;
    const int ok = png_image_write_to_stdio(&image, f, 0, pixels_.data(), 0, nullptr);
    const std::string png_message = image.message;
    png_image_free(&image);
    const bool flushed = std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
    const int saved_errno = errno;
    const bool closed = std::fclose(f) == 0;
    if (!ok || !flushed || !closed) {
        std::remove(tmp.c_str());
        throw IOError(where, path, !ok ? "libpng: " + png_message : std::string("write failed: ") + std::strerror(saved_errno));
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string reason = std::strerror(errno);
        std::remove(tmp.c_str());
        throw IOError(where, path, "cannot rename the temporary file into place: " + reason);
    }
}

Image read_png(const std::string& path) {
    png_image image;
    std::memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&image, path.c_str())) {
        throw IOError("read_png", path, std::string("libpng: ") + image.message);
    }
    image.format = PNG_FORMAT_RGB;
    std::vector<std::uint8_t> buffer(PNG_IMAGE_SIZE(image));
    if (!png_image_finish_read(&image, nullptr, buffer.data(), 0, nullptr)) {
        const std::string message = image.message;
        png_image_free(&image);
        throw IOError("read_png", path, "libpng: " + message);
    }
    Image out(image.width, image.height);
    for (std::size_t y = 0; y < image.height; ++y) {
        for (std::size_t x = 0; x < image.width; ++x) {
            const std::uint8_t* p = &buffer[3 * (y * image.width + x)];
            out.plot(static_cast<long>(x), static_cast<long>(y), {p[0], p[1], p[2]});
        }
    }
    return out;
}

}  // namespace odenet::util
