#include "odenet/util/idx.hpp"

#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <limits>
#include <memory>

#include "odenet/core/error.hpp"

namespace odenet::util {

namespace {

constexpr std::uint8_t kTypeUnsignedByte = 0x08;

std::uint32_t read_be32(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           std::uint32_t{p[3]};
}

const char* type_name(std::uint8_t code) {
    switch (code) {
        case 0x08: return "unsigned byte";
        case 0x09: return "signed byte";
        case 0x0B: return "int16";
        case 0x0C: return "int32";
        case 0x0D: return "float32";
        case 0x0E: return "float64";
        default: return "not an IDX type";
    }
}

std::string hex(unsigned value, int digits) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%0*X", digits, value);
    return buf;
}

// The product of the dimensions, or nullopt-like SIZE_MAX when it overflows: a fuzzed header may
// claim 2^32 x 2^32 x ..., which must give an error, not a wrapped-around small size.
std::size_t checked_product(const std::vector<std::size_t>& dims) {
    std::size_t product = 1;
    for (std::size_t d : dims) {
        if (d != 0 && product > std::numeric_limits<std::size_t>::max() / d) {
            return std::numeric_limits<std::size_t>::max();
        }
        product *= d;
    }
    return product;
}

}  // namespace

std::string dims_str(const std::vector<std::size_t>& dims) {
    std::string s;
    for (std::size_t i = 0; i < dims.size(); ++i) {
        if (i > 0) s += 'x';
        s += std::to_string(dims[i]);
    }
    return s;
}

IdxArray parse_idx(const std::uint8_t* data, std::size_t n, const std::string& name) {
    const char* where = "parse_idx";
    if (n < 4) {
        throw IOError(where, name, "too short for an IDX header: " + std::to_string(n) + " bytes, need at least 4");
    }
    if (data[0] != 0 || data[1] != 0) {
        throw IOError(where, name, "not an IDX file: magic number " + hex(read_be32(data), 8) +
                                       " does not start with two zero bytes");
    }
    const std::uint8_t type = data[2];
    if (type != kTypeUnsignedByte) {
        throw IOError(where, name, "unsupported type code " + hex(type, 2) + " (" + type_name(type) +
                                       "); only 0x08 (unsigned byte) is read");
    }
    const std::size_t ndims = data[3];
    if (ndims == 0 || ndims > kIdxMaxDims) {
        throw IOError(where, name, "number of dimensions " + std::to_string(ndims) + " is not in 1.." +
                                       std::to_string(kIdxMaxDims));
    }
    const std::size_t header = 4 + 4 * ndims;
    if (n < header) {
        throw IOError(where, name, "truncated header: " + std::to_string(ndims) + " dimensions need " +
                                       std::to_string(header) + " bytes, file has " + std::to_string(n));
    }
    IdxArray out;
    for (std::size_t i = 0; i < ndims; ++i) out.dims.push_back(read_be32(data + 4 + 4 * i));
    const std::size_t expected = checked_product(out.dims);
    const std::size_t actual = n - header;
    const std::string says = "header says " + dims_str(out.dims) + " = " +
                             (expected == std::numeric_limits<std::size_t>::max() ? std::string("too many")
                                                                                   : std::to_string(expected)) +
                             " bytes of data, file has " + std::to_string(actual);
    if (actual < expected) throw IOError(where, name, "truncated: " + says);
    if (actual > expected) {
        throw IOError(where, name, std::to_string(actual - expected) + " extra bytes after the data: " + says);
    }
    out.data.assign(data + header, data + n);
    return out;
}

std::vector<std::uint8_t> read_maybe_gzip(const std::string& path) {
    const char* where = "read_idx";
    std::ifstream probe(path, std::ios::binary);
    if (!probe) throw IOError(where, path, "cannot open for reading (missing or no permission)");
    unsigned char magic[2] = {0, 0};
    probe.read(reinterpret_cast<char*>(magic), 2);
    const bool gzip = probe.gcount() == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    std::vector<std::uint8_t> bytes;
    if (!gzip) {
        probe.clear();
        probe.seekg(0, std::ios::end);
        const std::streamoff size = probe.tellg();
        probe.seekg(0);
        bytes.resize(static_cast<std::size_t>(size));
        if (size > 0 && !probe.read(reinterpret_cast<char*>(bytes.data()), size)) {
            throw IOError(where, path, "read failed after " + std::to_string(probe.gcount()) + " bytes");
        }
        return bytes;
    }
    std::unique_ptr<gzFile_s, int (*)(gzFile)> gz(gzopen(path.c_str(), "rb"), gzclose_r);
    if (!gz) throw IOError(where, path, "cannot open the gzip stream");
    constexpr unsigned kChunk = 1u << 20;
    for (;;) {
        const std::size_t old = bytes.size();
        bytes.resize(old + kChunk);
        const int got = gzread(gz.get(), bytes.data() + old, kChunk);
        if (got < 0) {
            int errnum = 0;
            const char* msg = gzerror(gz.get(), &errnum);
            throw IOError(where, path, std::string("corrupt gzip data: ") + msg);
        }
        bytes.resize(old + static_cast<std::size_t>(got));
        if (got == 0) break;
    }
    // zlib reports a stream cut short only on close (Z_BUF_ERROR), after gzread returned what it had.
    const int rc = gzclose_r(gz.release());
    if (rc == Z_BUF_ERROR) {
        throw IOError(where, path, "truncated gzip stream after " + std::to_string(bytes.size()) +
                                       " decompressed bytes");
    }
    if (rc != Z_OK) throw IOError(where, path, "closing the gzip stream failed (zlib code " + std::to_string(rc) + ")");
    return bytes;
}

IdxArray read_idx(const std::string& path) {
    const std::vector<std::uint8_t> bytes = read_maybe_gzip(path);
    return parse_idx(bytes.data(), bytes.size(), path);
}

Tensor<float> load_images(const std::string& path) {
    IdxArray idx = read_idx(path);
    if (idx.dims.size() != 3) {
        throw IOError("load_images", path, "expected images (3 dimensions N x rows x cols, magic 0x00000803), got " +
                                               std::to_string(idx.dims.size()) + " dimensions (" + dims_str(idx.dims) + ")");
    }
    Tensor<float> images = Tensor<float>::from_shape({idx.dims[0], 1, idx.dims[1], idx.dims[2]});
    float* out = images.data();
    for (std::size_t i = 0; i < idx.data.size(); ++i) out[i] = static_cast<float>(idx.data[i]) / 255.0f;
    return images;
}

std::vector<std::size_t> load_labels(const std::string& path) {
    IdxArray idx = read_idx(path);
    if (idx.dims.size() != 1) {
        throw IOError("load_labels", path, "expected labels (1 dimension, magic 0x00000801), got " +
                                               std::to_string(idx.dims.size()) + " dimensions (" + dims_str(idx.dims) + ")");
    }
    return std::vector<std::size_t>(idx.data.begin(), idx.data.end());
}

}  // namespace odenet::util
