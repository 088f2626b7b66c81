// A minimal zip archive writer and reader for .npz files: stored (uncompressed) entries only,
// CRC-32 from zlib. Layout from PKWARE's APPNOTE.TXT (sections 4.3.7 local file header,
// 4.3.12 central directory header, 4.3.16 end of central directory, 4.5.3 zip64 extra field).
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "odenet/core/error.hpp"
#include "odenet/nn/npz.hpp"

namespace odenet::nn {

namespace {
constexpr std::uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50;
constexpr std::size_t kLocalLen = 30, kCentralLen = 46, kEndLen = 22;
constexpr std::uint16_t kDosDate1980 = (0 << 9) | (1 << 5) | 1;  // 1980-01-01: a fixed stamp keeps files reproducible

void put16(std::string& s, std::uint32_t v) {
    s += static_cast<char>(v & 0xff);
    s += static_cast<char>((v >> 8) & 0xff);
}
void put32(std::string& s, std::uint32_t v) {
    put16(s, v & 0xffff);
    put16(s, v >> 16);
}

std::uint32_t crc_of(std::string_view data) {
    uLong crc = crc32(0L, Z_NULL, 0);
    // zlib takes uInt lengths; feed in chunks so huge entries are fine.
    for (std::size_t at = 0; at < data.size(); at += 1u << 30) {
        const std::size_t n = std::min<std::size_t>(data.size() - at, 1u << 30);
        crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data() + at), static_cast<uInt>(n));
    }
    return static_cast<std::uint32_t>(crc);
}

// Bounds-checked little-endian reads; an out-of-range read means the file is truncated.
struct Reader {
    std::string_view bytes;
    const std::string& path;
    // `at` may come from a zip64 field (any 64-bit value), so at + width is not formed first.
    std::uint64_t get(std::uint64_t at, int width) const {
        if (at > bytes.size() || static_cast<std::size_t>(width) > bytes.size() - at) {
            const std::string end = at > bytes.size() ? "past byte " + std::to_string(at) : "byte " + std::to_string(at + width);
            throw IOError("npz", path, "truncated: needs " + end + " but the file has " + std::to_string(bytes.size()) + " bytes");
        }
        std::uint64_t v = 0;
        for (int i = width - 1; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(bytes[at + i]);
        return v;
    }
    std::uint32_t u16(std::uint64_t at) const { return static_cast<std::uint32_t>(get(at, 2)); }
    std::uint32_t u32(std::uint64_t at) const { return static_cast<std::uint32_t>(get(at, 4)); }
};

[[noreturn]] void corrupt(const std::string& path, const std::string& why) { throw IOError("npz", path, why); }

// Position of the end-of-central-directory record: the last signature within the final 64 KiB.
std::size_t find_end(const Reader& r) {
    const std::string_view b = r.bytes;
    const std::size_t lowest = b.size() > kEndLen + 0xffff ? b.size() - kEndLen - 0xffff : 0;
    for (std::size_t at = b.size() - kEndLen + 1; at-- > lowest;) {
        if (r.u32(at) == kEndSig) return at;
    }
    if (b.size() >= 4 && r.u32(0) == kLocalSig) {
        corrupt(r.path, "truncated: the zip end-of-central-directory record is missing (file has " +
                            std::to_string(b.size()) + " bytes)");
    }
    corrupt(r.path, "not a zip/npz file");
}

struct Entry {
    std::string name;
    std::uint32_t crc, method, flags;
    std::uint64_t size, compressed, offset;
};

// Sizes and offset set to 0xffffffff in a central header are in its zip64 extra field (id 1).
void apply_zip64(const Reader& r, std::size_t extra, std::size_t extra_len, Entry& e) {
    for (std::size_t at = extra; at + 4 <= extra + extra_len;) {
        const std::uint32_t id = r.u16(at), len = r.u16(at + 2);
        if (id == 1) {
            std::size_t p = at + 4;
            for (std::uint64_t* f : {&e.size, &e.compressed, &e.offset}) {
                if (*f == 0xffffffffu && p + 8 <= at + 4 + len) *f = r.get(p, 8), p += 8;
            }
        }
        at += 4 + len;
    }
}

std::vector<Entry> central_directory(const Reader& r) {
    const std::size_t end = find_end(r);
    const std::size_t count = r.u16(end + 10);
    const std::uint64_t cd_size = r.u32(end + 12), cd_offset = r.u32(end + 16);
    if (cd_offset == 0xffffffffu || count == 0xffff) corrupt(r.path, "zip64 archives larger than 4 GiB are not supported");
    if (cd_offset + cd_size > end) corrupt(r.path, "corrupt zip: central directory runs past its end record");
    std::vector<Entry> entries;
    std::size_t at = cd_offset;
    for (std::size_t i = 0; i < count; ++i) {
        if (r.u32(at) != kCentralSig) corrupt(r.path, "corrupt zip: bad central directory entry " + std::to_string(i));
        Entry e;
        e.flags = r.u16(at + 8);
        e.method = r.u16(at + 10);
        e.crc = r.u32(at + 16);
        e.compressed = r.u32(at + 20);
        e.size = r.u32(at + 24);
        const std::size_t name_len = r.u16(at + 28), extra_len = r.u16(at + 30), comment_len = r.u16(at + 32);
        e.offset = r.u32(at + 42);
        r.get(at + kCentralLen + name_len + extra_len + comment_len - 1, 1);  // bounds
        e.name = std::string(r.bytes.substr(at + kCentralLen, name_len));
        apply_zip64(r, at + kCentralLen + name_len, extra_len, e);
        entries.push_back(std::move(e));
        at += kCentralLen + name_len + extra_len + comment_len;
    }
    return entries;
}

std::string_view entry_data(const Reader& r, const Entry& e) {
    if (e.flags & 1) corrupt(r.path, "entry '" + e.name + "' is encrypted");
    if (e.method != 0) {
        corrupt(r.path, "entry '" + e.name + "' is compressed (method " + std::to_string(e.method) +
                            "); only stored entries are read: save with numpy.savez, not savez_compressed");
    }
    if (e.size != e.compressed) corrupt(r.path, "corrupt zip: stored entry '" + e.name + "' has two different sizes");
    if (r.u32(e.offset) != kLocalSig) corrupt(r.path, "corrupt zip: no local header for entry '" + e.name + "'");
    // e.offset + 30 <= size after the reads above, so data cannot wrap; e.size (zip64) may be anything.
    const std::size_t data = e.offset + kLocalLen + r.u16(e.offset + 26) + r.u16(e.offset + 28);
    if (data > r.bytes.size() || e.size > r.bytes.size() - data) {
        corrupt(r.path, "truncated: entry '" + e.name + "' has " + std::to_string(e.size) + " bytes from byte " +
                            std::to_string(data) + " but the file has " + std::to_string(r.bytes.size()));
    }
    const std::string_view bytes = r.bytes.substr(data, e.size);
    if (crc_of(bytes) != e.crc) corrupt(r.path, "corrupt: entry '" + e.name + "' fails its CRC-32 check");
    return bytes;
}
}  // namespace

std::string npz_encode(const NamedValues& entries) {
    std::string out, central;
    for (const auto& [key, value] : entries) {
        const std::string name = key + ".npy";
        const std::string data = npy_encode(value);
        if (data.size() >= 0xffffffffu || out.size() >= 0xffffffffu || name.size() > 0xffff) {
            throw ValueError("npz_encode", "entry '" + key + "' is too large for a zip without zip64");
        }
        const std::uint32_t crc = crc_of(data), offset = static_cast<std::uint32_t>(out.size());
        const auto size = static_cast<std::uint32_t>(data.size());
        auto common = [&](std::string& s) {  // version needed .. extra length, shared by both headers
            put16(s, 20);  // version needed: 2.0
            put16(s, 0);   // flags
            put16(s, 0);   // method: stored
            put16(s, 0);   // time 00:00
            put16(s, kDosDate1980);
            put32(s, crc);
            put32(s, size);  // compressed
            put32(s, size);  // uncompressed
            put16(s, static_cast<std::uint32_t>(name.size()));
            put16(s, 0);  // extra length
        };
        put32(out, kLocalSig);
        common(out);
        out += name;
        out += data;
        put32(central, kCentralSig);
        put16(central, 20);  // version made by
        common(central);
        put16(central, 0);  // comment length
        put16(central, 0);  // disk number
        put16(central, 0);  // internal attributes
        put32(central, 0);  // external attributes
        put32(central, offset);
        central += name;
    }
    if (entries.size() >= 0xffff) throw ValueError("npz_encode", "too many entries for a zip without zip64");
    const auto cd_offset = static_cast<std::uint32_t>(out.size());
    out += central;
    put32(out, kEndSig);
    put16(out, 0);
    put16(out, 0);
    put16(out, static_cast<std::uint32_t>(entries.size()));
    put16(out, static_cast<std::uint32_t>(entries.size()));
    put32(out, static_cast<std::uint32_t>(central.size()));
    put32(out, cd_offset);
    put16(out, 0);  // comment length
    return out;
}

NamedValues npz_decode(std::string_view bytes, const std::string& path) {
    const Reader r{bytes, path};
    if (bytes.size() < kEndLen) {
        corrupt(path, bytes.size() >= 4 && r.u32(0) == kLocalSig
                          ? "truncated at byte " + std::to_string(bytes.size())
                          : "not a zip/npz file (" + std::to_string(bytes.size()) + " bytes)");
    }
    NamedValues out;
    std::set<std::string> seen;
    for (const Entry& e : central_directory(r)) {
        if (!e.name.ends_with(".npy")) corrupt(path, "entry '" + e.name + "' is not a .npy array");
        std::string key = e.name.substr(0, e.name.size() - 4);
        if (!seen.insert(key).second) corrupt(path, "entry '" + key + "' appears twice");
        Value v = npy_decode(entry_data(r, e), path, "entry '" + key + "'");
        out.emplace_back(std::move(key), std::move(v));
    }
    return out;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw IOError("read_file", path, std::string("cannot open: ") + std::strerror(errno));
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw IOError("read_file", path, "read failed");
    return std::move(ss).str();
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
    static std::atomic<unsigned> counter{0};
    const std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw IOError("write_file_atomic", path, "cannot create " + tmp + ": " + std::strerror(errno));
    auto fail = [&](const char* step) {
        const std::string why = std::strerror(errno);
        ::close(fd);
        ::unlink(tmp.c_str());
        throw IOError("write_file_atomic", path, std::string(step) + " failed: " + why);
    };
    for (std::size_t done = 0; done < bytes.size();) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) fail("write");
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) fail("fsync");
    if (::close(fd) != 0) {
        const std::string why = std::strerror(errno);
        ::unlink(tmp.c_str());
        throw IOError("write_file_atomic", path, "close failed: " + why);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string why = std::strerror(errno);
        ::unlink(tmp.c_str());
        throw IOError("write_file_atomic", path, "rename failed: " + why);
    }
}

void save_npz(const std::string& path, const NamedValues& entries) { write_file_atomic(path, npz_encode(entries)); }

NamedValues load_npz(const std::string& path) { return npz_decode(read_file(path), path); }

}  // namespace odenet::nn
