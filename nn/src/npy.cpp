// .npy encoding and decoding. See npz.hpp for the format.
#include <bit>
#include <cstring>

#include "odenet/core/error.hpp"
#include "odenet/nn/npz.hpp"

namespace odenet::nn {

static_assert(std::endian::native == std::endian::little, "the .npy writer assumes a little-endian machine");

namespace {
constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicLen = 6;

std::string shape_tuple(const Shape& shape) {
    std::string s = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + (shape.size() == 1 ? ",)" : ")");
}

[[noreturn]] void fail(const std::string& path, const std::string& what, const std::string& why) {
    throw IOError("npy", path, what + ": " + why);
}

// The text after "'key':" in the header dict, with spaces skipped.
std::string_view field(std::string_view header, std::string_view key, const std::string& path, const std::string& what) {
    std::string quoted(1, '\'');  // built by appends: GCC 12 warns falsely (-Wrestrict) on "'" + string
    quoted.append(key);
    quoted += '\'';
    std::size_t at = header.find(quoted);
    if (at == std::string_view::npos) fail(path, what, "header has no " + quoted + " field");
    at = header.find(':', at + quoted.size());
    if (at == std::string_view::npos) fail(path, what, "malformed header");
    at = header.find_first_not_of(' ', at + 1);
    if (at == std::string_view::npos) fail(path, what, "malformed header");
    return header.substr(at);
}

Shape parse_shape(std::string_view s, const std::string& path, const std::string& what) {
    if (s.empty() || s[0] != '(') fail(path, what, "malformed shape in header");
    const std::size_t close = s.find(')');
    if (close == std::string_view::npos) fail(path, what, "malformed shape in header");
    Shape shape;
    std::size_t i = 1;
    while (i < close) {
        while (i < close && (s[i] == ' ' || s[i] == ',')) ++i;
        if (i == close) break;
        std::size_t n = 0, digits = 0;
        while (i < close && s[i] >= '0' && s[i] <= '9' && digits < 18) n = n * 10 + static_cast<std::size_t>(s[i++] - '0'), ++digits;
        if (digits == 0 || (i < close && s[i] != ',' && s[i] != ' ')) fail(path, what, "malformed shape in header");
        shape.push_back(n);
    }
    return shape;
}
}  // namespace

std::string npy_encode(const Value& value) {
    const bool f32 = value.dtype() == Dtype::float32;
    std::string header = std::string("{'descr': '") + (f32 ? "<f4" : "<f8") +
                         "', 'fortran_order': False, 'shape': " + shape_tuple(value.shape()) + ", }";
    // Pad with spaces and a final newline so that magic + version + length + header is a
    // multiple of 64 bytes (numpy aligns the data this way).
    const std::size_t preamble = kMagicLen + 2 + 2;
    const std::size_t total = (preamble + header.size() + 1 + 63) / 64 * 64;
    header.append(total - preamble - header.size() - 1, ' ');
    header += '\n';
    std::string out(kMagic, kMagicLen);
    out += '\x01';
    out += '\x00';
    out += static_cast<char>(header.size() & 0xff);
    out += static_cast<char>((header.size() >> 8) & 0xff);
    out += header;
    value.visit([&](const auto& t) {
        out.append(reinterpret_cast<const char*>(t.data()), t.size() * sizeof(t.data()[0]));
    });
    return out;
}

Value npy_decode(std::string_view bytes, const std::string& path, const std::string& what) {
    if (bytes.size() < kMagicLen + 4 || std::memcmp(bytes.data(), kMagic, kMagicLen) != 0) {
        fail(path, what, "not a .npy array (bad magic)");
    }
    const auto byte = [&](std::size_t i) { return static_cast<std::size_t>(static_cast<unsigned char>(bytes[i])); };
    const std::size_t major = byte(6);
    std::size_t header_len = 0, start = 0;
    if (major == 1) {
        header_len = byte(8) | byte(9) << 8;
        start = 10;
    } else if (major == 2 || major == 3) {
        if (bytes.size() < 12) fail(path, what, "truncated header");
        header_len = byte(8) | byte(9) << 8 | byte(10) << 16 | byte(11) << 24;
        start = 12;
    } else {
        fail(path, what, "unsupported .npy version " + std::to_string(major));
    }
    if (bytes.size() < start + header_len) fail(path, what, "truncated header");
    const std::string_view header = bytes.substr(start, header_len);
    const std::string_view descr = field(header, "descr", path, what);
    const bool f32 = descr.starts_with("'<f4'");
    if (!f32 && !descr.starts_with("'<f8'")) {
        fail(path, what, "unsupported dtype " + std::string(descr.substr(0, descr.find(','))) + " (only '<f4' and '<f8')");
    }
    if (!field(header, "fortran_order", path, what).starts_with("False")) fail(path, what, "Fortran order is not supported");
    const Shape shape = parse_shape(field(header, "shape", path, what), path, what);
    // Checked: a header's (4294967296, 4294967296) wraps around to 0 elements in plain size_t
    // arithmetic and would then match an empty data section.
    std::size_t n = 0, need = 0;
    const std::size_t item = f32 ? 4 : 8;
    try {
        n = numel(shape, "npy");
    } catch (const ShapeError& e) {
        fail(path, what, e.message());
    }
    if (__builtin_mul_overflow(n, item, &need)) fail(path, what, "shape " + shape_str(shape) + " needs 2^64 or more bytes");
    const std::size_t have = bytes.size() - start - header_len;
    if (have != need) {
        fail(path, what, "data is " + std::to_string(have) + " bytes, expected " + std::to_string(need) + " for " +
                             shape_str(shape) + (have < need ? " (truncated)" : ""));
    }
    const char* data = bytes.data() + start + header_len;
    auto make = [&]<class T>(T) {
        Tensor<T> t = empty_tensor<T>(shape, "npy");
        if (n) std::memcpy(t.data(), data, n * sizeof(T));
        return Value(std::move(t));
    };
    return f32 ? make(0.0f) : make(0.0);
}

}  // namespace odenet::nn
