// libFuzzer target for the .npy and .npz readers: any input must either decode or throw
// odenet::Error; a crash, a sanitizer report, an out-of-memory or a different exception is a
// bug. Each input is tried as a .npy array and as an .npz archive. What decodes must hold as
// many elements as its shape says and survive a round trip through the encoder unchanged.
// Build and run: scripts/fuzz npz [seconds] (or scripts/fuzz-npz).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>

#include "odenet/core/error.hpp"
#include "odenet/nn/npz.hpp"

namespace {

using odenet::Value;

bool same(const Value& a, const Value& b) {
    if (a.dtype() != b.dtype() || a.shape() != b.shape() || a.size() != b.size()) return false;
    return a.visit([&](const auto& ta) {
        return b.visit([&](const auto& tb) {
            // Bytes, not values: NaN payloads must survive too. An empty tensor's data() may be
            // null, and memcmp on a null pointer is undefined even for 0 bytes.
            return ta.size() == 0 || std::memcmp(ta.data(), tb.data(), ta.size() * sizeof(ta.data()[0])) == 0;
        });
    });
}

void check(const Value& v) {
    if (odenet::numel(v.shape()) != v.size()) __builtin_trap();
}

void write(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

void set_le(std::string& s, std::size_t at, std::uint64_t v, int width) {
    for (int i = 0; i < width; ++i) s[at + i] = static_cast<char>(v >> (8 * i) & 0xff);
}
std::uint64_t get_le(const std::string& s, std::size_t at, int width) {
    std::uint64_t v = 0;
    for (int i = width - 1; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(s[at + i]);
    return v;
}

// `zip` (one entry named `name`, from npz_encode) with its central directory entry's sizes and
// local header offset moved into a zip64 extra field, as numpy.savez writes large archives:
// the seed that leads the fuzzer into the zip64 code.
std::string with_zip64(std::string zip, std::size_t name_len) {
    const std::size_t end = zip.size() - 22;
    const std::size_t cd = get_le(zip, end + 16, 4);
    std::string extra = "\x01";
    extra += '\0';
    extra += static_cast<char>(24);
    extra += '\0';
    extra += std::string(24, '\0');
    const std::uint64_t size = get_le(zip, cd + 24, 4);
    set_le(extra, 4, size, 8);
    set_le(extra, 12, size, 8);
    set_le(extra, 20, 0, 8);
    set_le(zip, cd + 20, 0xffffffffu, 4);
    set_le(zip, cd + 24, 0xffffffffu, 4);
    set_le(zip, cd + 42, 0xffffffffu, 4);
    set_le(zip, cd + 30, extra.size(), 2);
    zip.insert(cd + 46 + name_len, extra);
    set_le(zip, end + extra.size() + 12, end - cd + extra.size(), 4);  // the central directory's new size
    return zip;
}

}  // namespace

// With ODENET_FUZZ_SEED_DIR set (scripts/fuzz sets it to the corpus), writes seed files made by
// the library's own encoder there before libFuzzer reads the corpus.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
    const char* dir = std::getenv("ODENET_FUZZ_SEED_DIR");
    if (!dir) return 0;
    using odenet::Tensor;
    const Value a(Tensor<float>{{1.0f, 2.0f, 3.0f}, {4.0f, 5.0f, 6.0f}});
    const Value s(Tensor<double>(2.5));
    const Value e(Tensor<float>::from_shape({0, 3}));
    write(std::string(dir) + "/seed-f4.npy", odenet::nn::npy_encode(a));
    write(std::string(dir) + "/seed-f8-scalar.npy", odenet::nn::npy_encode(s));
    write(std::string(dir) + "/seed-one.npz", odenet::nn::npz_encode({{"w", a}}));
    write(std::string(dir) + "/seed-three.npz", odenet::nn::npz_encode({{"w", a}, {"step", s}, {"empty", e}}));
    const std::string zip64 = with_zip64(odenet::nn::npz_encode({{"w", a}}), 5);
    odenet::nn::npz_decode(zip64, "seed-zip64.npz");  // throws (and stops the run) if the seed is wrong
    write(std::string(dir) + "/seed-zip64.npz", zip64);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    try {
        const Value v = odenet::nn::npy_decode(bytes, "fuzz.npy", "array");
        check(v);
        if (!same(odenet::nn::npy_decode(odenet::nn::npy_encode(v), "re", "array"), v)) __builtin_trap();
    } catch (const odenet::Error&) {
    }
    try {
        const odenet::nn::NamedValues entries = odenet::nn::npz_decode(bytes, "fuzz.npz");
        for (const auto& [name, v] : entries) check(v);
        const odenet::nn::NamedValues again = odenet::nn::npz_decode(odenet::nn::npz_encode(entries), "re");
        if (again.size() != entries.size()) __builtin_trap();
        for (std::size_t i = 0; i < entries.size(); ++i) {
            if (again[i].first != entries[i].first || !same(again[i].second, entries[i].second)) __builtin_trap();
        }
    } catch (const odenet::Error&) {
    }
    return 0;
}
