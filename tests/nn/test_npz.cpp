// .npy and .npz decoding of hostile input: element and byte counts computed with overflow
// checks, and zip offsets and sizes of any 64-bit value (zip64) bounds-checked without
// wrapping. Each case is an IOError naming the file; none may crash or allocate a wrong size.
// (Round trips and the ordinary malformations are in test_checkpoint.cpp.)
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "odenet/core/error.hpp"
#include "odenet/nn/npz.hpp"

using namespace odenet;
namespace nn = odenet::nn;

namespace {

// A version 1.0 .npy file with this header dict (padded as numpy pads it) and these data bytes.
std::string npy_with(const std::string& dict, const std::string& data) {
    std::string header = dict;
    const std::size_t total = (10 + header.size() + 1 + 63) / 64 * 64;
    header.append(total - 10 - header.size() - 1, ' ');
    header += '\n';
    std::string out = "\x93NUMPY";
    out += '\x01';
    out += '\x00';
    out += static_cast<char>(header.size() & 0xff);
    out += static_cast<char>(header.size() >> 8);
    return out + header + data;
}

std::string npy_of_shape(const std::string& descr, const std::string& shape, const std::string& data) {
    return npy_with("{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }", data);
}

std::string decode_error(const std::string& bytes) {
    try {
        nn::npy_decode(bytes, "w.npy", "entry 'w'");
    } catch (const IOError& e) {
        CHECK(e.path() == "w.npy");
        return e.what();
    }
    return "no IOError";
}

std::string npz_error(const std::string& bytes) {
    try {
        nn::npz_decode(bytes, "m.npz");
    } catch (const IOError& e) {
        return e.what();
    }
    return "no IOError";
}

std::uint32_t get32(const std::string& s, std::size_t at) {
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(s[at + i]);
    return v;
}
void set16(std::string& s, std::size_t at, std::uint32_t v) {
    s[at] = static_cast<char>(v & 0xff);
    s[at + 1] = static_cast<char>(v >> 8 & 0xff);
}
void set32(std::string& s, std::size_t at, std::uint32_t v) {
    set16(s, at, v & 0xffff);
    set16(s, at + 2, v >> 16);
}
std::string le64(std::uint64_t v) {
    std::string s;
    for (int i = 0; i < 8; ++i) s += static_cast<char>(v >> (8 * i) & 0xff);
    return s;
}

// A one-entry archive from npz_encode whose central directory entry gets a zip64 extra field:
// the fields set to 0xffffffff (size and compressed size, or the local header offset) take
// their 64-bit values from it, as zip64 readers must.
std::string npz_with_zip64(std::uint64_t size, std::uint64_t offset, bool set_size, bool set_offset) {
    std::string z = nn::npz_encode({{"w", Value(Tensor<double>{1.0, 2.0})}});
    const std::size_t end = z.size() - 22, cd = get32(z, end + 16), name_len = 5;  // "w.npy"
    std::string extra;
    if (set_size) extra += le64(size) + le64(size);
    if (set_offset) extra += le64(offset);
    std::string field = "\x01";
    field += '\0';
    field += static_cast<char>(extra.size());
    field += '\0';
    field += extra;
    if (set_size) set32(z, cd + 20, 0xffffffffu), set32(z, cd + 24, 0xffffffffu);
    if (set_offset) set32(z, cd + 42, 0xffffffffu);
    set16(z, cd + 30, static_cast<std::uint32_t>(field.size()));
    z.insert(cd + 46 + name_len, field);
    set32(z, end + field.size() + 12, get32(z, end + field.size() + 12) + static_cast<std::uint32_t>(field.size()));
    return z;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string from_hex(std::string_view hex) {
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
    return out;
}

}  // namespace

TEST_CASE("npy: the test's hand-made files decode when they are valid") {
    std::string data(16, '\0');
    const Value v = nn::npy_decode(npy_of_shape("<f8", "(2,)", data), "w.npy", "entry 'w'");
    CHECK(v.shape() == Shape{2});
}

TEST_CASE("npy: a shape whose element count wraps around is refused, naming the file") {
    // 2^32 x 2^32 is 0 in wrapped size_t arithmetic, which matched an empty data section and
    // gave a tensor whose shape promised 2^64 elements over no memory.
    CHECK(decode_error(npy_of_shape("<f8", "(4294967296, 4294967296)", "")) ==
          "npy: 'w.npy': entry 'w': shape (4294967296, 4294967296) has 2^63 or more elements");
    // Elements that fit in size_t but bytes that do not: 3 (10^18 - 1) float64 values.
    CHECK(decode_error(npy_of_shape("<f8", "(999999999999999999, 3)", "")) ==
          "npy: 'w.npy': entry 'w': shape (999999999999999999, 3) needs 2^64 or more bytes");
    // A zero extent keeps the count at zero, whatever comes before it; what comes after it must
    // not overflow xtensor's strides.
    CHECK(nn::npy_decode(npy_of_shape("<f4", "(4294967296, 4294967296, 0)", ""), "w.npy", "w").shape() ==
          Shape{4294967296u, 4294967296u, 0});
    CHECK(decode_error(npy_of_shape("<f4", "(0, 4294967296, 4294967296)", "")) ==
          "npy: 'w.npy': entry 'w': shape (0, 4294967296, 4294967296) has 0 elements but trailing extents whose "
          "product is 2^63 or more (its strides would overflow)");
}

TEST_CASE("npy: a shape whose byte count exceeds the data present is refused") {
    CHECK(decode_error(npy_of_shape("<f8", "(1000, 1000)", std::string(12, '\0'))) ==
          "npy: 'w.npy': entry 'w': data is 12 bytes, expected 8000000 for (1000, 1000) (truncated)");
    CHECK(decode_error(npy_of_shape("<f4", "(2,)", std::string(12, '\0'))) ==
          "npy: 'w.npy': entry 'w': data is 12 bytes, expected 8 for (2)");
    // An extent of more than 18 digits is not parsed at all.
    CHECK(contains(decode_error(npy_of_shape("<f8", "(18446744073709551617,)", "")), "malformed shape in header"));
}

TEST_CASE("npz: zip64 offsets and sizes near 2^64 are bounds-checked without wrapping") {
    // The archive itself is fine with honest zip64 values.
    const std::string ok = npz_with_zip64(0, 0, false, true);
    REQUIRE(nn::npz_decode(ok, "m.npz").size() == 1);
    // A local header offset of 2^64 - 2: offset + 4 wrapped to 2, passed the bounds check, and
    // the read at the offset crashed.
    CHECK(npz_error(npz_with_zip64(0, ~std::uint64_t{1}, false, true)) ==
          "npz: 'm.npz': truncated: needs past byte 18446744073709551614 but the file has " +
              std::to_string(ok.size()) + " bytes");
    // A stored size of 2^64 - 8: data + size wrapped and passed; now it is the truncation it is.
    const std::string big = npz_with_zip64(~std::uint64_t{7}, 0, true, false);
    CHECK(npz_error(big) == "npz: 'm.npz': truncated: entry 'w.npy' has 18446744073709551608 bytes from byte 35 but the file has " +
                             std::to_string(big.size()));
}

// Found by fuzz_npz (scripts/fuzz npz) in 22 s from a zip64 seed, against the reader before the
// fix above: a central directory entry whose zip64 extra field gives the local header offset
// 0xffffffffffffffff. offset + 4 wrapped to 3 and passed the bounds check; ASan reported a heap
// buffer overflow in Reader::get. Kept byte for byte (build-fuzz/fuzz-artifacts/npz/crash-9c40349...).
TEST_CASE("npz: fuzzer regression, a zip64 offset of 2^64 - 1") {
    const std::string crash = from_hex(
        "504b0304140000000000000021007c9cdea2980000009800000005000000772e6e7079934e554d5059010076007b2764"
        "65736372273a20273c6634272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028"
        "322c2033292c207d20202020202020202020202020202020202020202020202020202020202020202020202020202020"
        "2020202020202020202020202020202020200a0000803f0000004000004040000080400000a0400000c040504b010214"
        "00140000000000000021007c9cdea2ffffffffffffffff05001c0000000000000000000000ffffffff772e6e70790100"
        "1800ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
        "ffffffffffffffffffffffffff980000000000000098000000000000000000000000000000504b050600000000010001"
        "004f000000bb0000000000");
    REQUIRE(crash.size() == 347);
    CHECK(npz_error(crash) == "npz: 'm.npz': truncated: needs past byte 18446744073709551615 but the file has 347 bytes");
}
