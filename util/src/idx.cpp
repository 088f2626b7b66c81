#include "odenet/util/idx.hpp"

#include <zlib.h>

#include <algorithm>
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

namespace {

// The first bytes of a file: true when they are the gzip magic 1f 8b. IOError when it cannot be opened.
bool starts_like_gzip(const std::string& path) {
    std::ifstream probe(path, std::ios::binary);
    if (!probe) throw IOError("read_idx", path, "cannot open for reading (missing or no permission)");
    unsigned char magic[2] = {0, 0};
    probe.read(reinterpret_cast<char*>(magic), 2);
    return probe.gcount() == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

std::vector<std::uint8_t> read_plain(const std::string& path) {
    const char* where = "read_idx";
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) throw IOError(where, path, "cannot open for reading (missing or no permission)");
    const std::streamoff size = in.tellg();
    in.seekg(0);
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
    if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size)) {
        throw IOError(where, path, "read failed after " + std::to_string(in.gcount()) + " bytes");
    }
    return bytes;
}

// A gzip stream inflated on demand, so that a reader can stop where the data should end.
class GzipSource {
public:
    explicit GzipSource(const std::string& path) : path_(path), gz_(gzopen(path.c_str(), "rb"), gzclose_r) {
        if (!gz_) throw IOError("read_idx", path, "cannot open the gzip stream");
    }

    // Appends up to n inflated bytes to `out`, in chunks of at most 1 MiB, so that memory follows
    // the data actually there rather than n. False when the stream ended first. IOError for
    // corrupt data and for a stream cut short (zlib flags it as Z_BUF_ERROR at the short read).
    bool append(std::vector<std::uint8_t>& out, std::size_t n) {
        constexpr std::size_t kChunk = std::size_t{1} << 20;
        const std::size_t most = n > std::numeric_limits<std::size_t>::max() - out.size() ? n : out.size() + n;
        while (n > 0) {
            const std::size_t old = out.size(), want = std::min(n, kChunk);
            // Geometric growth, but never beyond the most this call may append.
            if (old + want > out.capacity()) out.reserve(std::min(std::max(old + want, 2 * out.capacity()), most));
            out.resize(old + want);
            const int got = gzread(gz_.get(), out.data() + old, static_cast<unsigned>(want));
            int errnum = Z_OK;
            const char* msg = gzerror(gz_.get(), &errnum);
            if (got < 0) throw IOError("read_idx", path_, std::string("corrupt gzip data: ") + msg);
            out.resize(old + static_cast<std::size_t>(got));
            if (static_cast<std::size_t>(got) < want) {
                if (errnum == Z_BUF_ERROR) {
                    throw IOError("read_idx", path_,
                                  "truncated gzip stream after " + std::to_string(out.size()) + " decompressed bytes");
                }
                return false;
            }
            n -= want;
        }
        return true;
    }

    void close() {
        const int rc = gzclose_r(gz_.release());
        if (rc != Z_OK) {
            throw IOError("read_idx", path_, "closing the gzip stream failed (zlib code " + std::to_string(rc) + ")");
        }
    }

private:
    std::string path_;
    std::unique_ptr<gzFile_s, int (*)(gzFile)> gz_;
};

// Note [Bounded inflation]
// A gzip file of 1 MB can inflate to 1 GiB (deflate reaches about 1000:1 on constant data), and
// inflating all of it before parsing took 2.4 GB of memory and half a minute to reject. An IDX
// header says how many bytes follow it, so the reader inflates the header first, then at most
// one byte more than it declares: a longer stream is refused as soon as that byte arrives, and
// memory stays within the declared size (or the data actually there, if less). Measured on a
// 1 MB file inflating to 1 GiB behind a 60000x28x28 header: refused in 0.1 s at 47 MB.
std::vector<std::uint8_t> inflate_idx(const std::string& path) {
    GzipSource gz(path);
    std::vector<std::uint8_t> bytes;
    // Stop early only where parse_idx will throw anyway: a bad magic, type or dimension count.
    if (!gz.append(bytes, 4)) return bytes;
    const std::size_t ndims = bytes[3];
    if (bytes[0] != 0 || bytes[1] != 0 || bytes[2] != kTypeUnsignedByte || ndims == 0 || ndims > kIdxMaxDims) {
        return bytes;
    }
    const std::size_t header = 4 + 4 * ndims;
    if (!gz.append(bytes, header - 4)) return bytes;
    std::vector<std::size_t> dims;
    for (std::size_t i = 0; i < ndims; ++i) dims.push_back(read_be32(bytes.data() + 4 + 4 * i));
    const std::size_t data = checked_product(dims);
    if (data > std::numeric_limits<std::size_t>::max() - header - 1) {
        throw IOError("read_idx", path, "header says " + dims_str(dims) + " = too many bytes of data; not inflated");
    }
    const std::size_t declared = header + data, want = declared + 1 - header;
    // The first MiB, then room for the rest at once (no copies as it grows) up to a cap: only a
    // stream that holds at least a MiB gets the reservation, so a header that lies about a small
    // stream costs nothing.
    constexpr std::size_t kFirst = std::size_t{1} << 20, kReserveCap = std::size_t{256} << 20;
    bool more = gz.append(bytes, std::min(want, kFirst));
    if (more && want > kFirst) {
        bytes.reserve(std::min(declared + 1, kReserveCap));
        more = gz.append(bytes, want - kFirst);
    }
    if (more) {
        throw IOError("read_idx", path,
                      "the gzip stream inflates to more than the " + std::to_string(declared) +
                          " bytes its IDX header declares (" + std::to_string(header) + "-byte header, " +
                          dims_str(dims) + " = " + std::to_string(data) + " bytes of data); stopped after " +
                          std::to_string(bytes.size()) + " bytes");
    }
    gz.close();
    return bytes;
}

}  // namespace

std::vector<std::uint8_t> read_maybe_gzip(const std::string& path) {
    if (!starts_like_gzip(path)) return read_plain(path);
    GzipSource gz(path);
    std::vector<std::uint8_t> bytes;
    gz.append(bytes, std::numeric_limits<std::size_t>::max());
    gz.close();
    return bytes;
}

IdxArray read_idx(const std::string& path) {
    const std::vector<std::uint8_t> bytes = starts_like_gzip(path) ? inflate_idx(path) : read_plain(path);
    return parse_idx(bytes.data(), bytes.size(), path);
}

Tensor<float> load_images(const std::string& path) {
    IdxArray idx = read_idx(path);
    if (idx.dims.size() != 3) {
        throw IOError("load_images", path, "expected images (3 dimensions N x rows x cols, magic 0x00000803), got " +
                                               std::to_string(idx.dims.size()) + " dimensions (" + dims_str(idx.dims) + ")");
    }
    if (idx.dims[0] == 0) throw IOError("load_images", path, "no images: header says " + dims_str(idx.dims) + " (an empty dataset)");
    if (idx.data.empty()) throw IOError("load_images", path, "images of 0 pixels: header says " + dims_str(idx.dims));
    Tensor<float> images = empty_tensor<float>({idx.dims[0], 1, idx.dims[1], idx.dims[2]}, "load_images");
    float* out = images.data();
    for (std::size_t i = 0; i < idx.data.size(); ++i) out[i] = static_cast<float>(idx.data[i]) / 255.0f;
    return images;
}

std::vector<std::size_t> load_labels(const std::string& path, std::size_t num_classes) {
    if (num_classes == 0) throw ValueError("load_labels", "num_classes must be >= 1, got 0");
    IdxArray idx = read_idx(path);
    if (idx.dims.size() != 1) {
        throw IOError("load_labels", path, "expected labels (1 dimension, magic 0x00000801), got " +
                                               std::to_string(idx.dims.size()) + " dimensions (" + dims_str(idx.dims) + ")");
    }
    if (idx.data.empty()) throw IOError("load_labels", path, "no labels: header says 0 (an empty dataset)");
    // Checked here, where the file is known: an out-of-range label found by nll_loss mid-epoch
    // names no file, and one in the test set surfaces only after a whole epoch of training.
    for (std::size_t i = 0; i < idx.data.size(); ++i) {
        if (idx.data[i] >= num_classes) {
            throw IOError("load_labels", path, "label " + std::to_string(idx.data[i]) + " at index " + std::to_string(i) +
                                                   " is not a class: expected 0.." + std::to_string(num_classes - 1) +
                                                   " (" + std::to_string(num_classes) + " classes)");
        }
    }
    return std::vector<std::size_t>(idx.data.begin(), idx.data.end());
}

}  // namespace odenet::util
