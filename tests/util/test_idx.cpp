#include <doctest/doctest.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "odenet/core/error.hpp"
#include "odenet/util/idx.hpp"
#include "support/temp_dir.hpp"

using namespace odenet;
using namespace odenet::util;
using Bytes = std::vector<std::uint8_t>;

namespace {

void put_be32(Bytes& b, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<std::uint8_t>(v >> shift));
}

// An IDX file of unsigned bytes with the given dimensions; byte i of the data is i % 251.
Bytes make_idx(const std::vector<std::uint32_t>& dims, std::uint8_t type = 0x08) {
    Bytes b = {0, 0, type, static_cast<std::uint8_t>(dims.size())};
    std::size_t n = 1;
    for (std::uint32_t d : dims) {
        put_be32(b, d);
        n *= d;
    }
    for (std::size_t i = 0; i < n; ++i) b.push_back(static_cast<std::uint8_t>(i % 251));
    return b;
}

void write_plain(const std::string& path, const Bytes& b) {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

void write_gzip(const std::string& path, const Bytes& b) {
    gzFile gz = gzopen(path.c_str(), "wb");
    REQUIRE(gz != nullptr);
    REQUIRE(gzwrite(gz, b.data(), static_cast<unsigned>(b.size())) == static_cast<int>(b.size()));
    REQUIRE(gzclose(gz) == Z_OK);
}

// The IOError message parse_idx gives for these bytes ("" when it does not throw).
std::string parse_error(const Bytes& b) {
    try {
        parse_idx(b.data(), b.size(), "x.idx");
    } catch (const IOError& e) {
        CHECK(e.path() == "x.idx");
        return e.what();
    }
    return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A gzip stream (zlib's deflate with the gzip wrapper, windowBits 15 + 16) of `head` followed by
// `zeros` zero bytes, built in memory: 64 MiB of zeros deflate to about 64 KiB.
Bytes gzip_of(const Bytes& head, std::size_t zeros) {
    z_stream z{};
    REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    Bytes out, chunk(1 << 16), input = head;
    auto pump = [&](int flush) {
        int rc;
        do {
            z.next_out = chunk.data();
            z.avail_out = static_cast<uInt>(chunk.size());
            rc = deflate(&z, flush);
            REQUIRE(rc != Z_STREAM_ERROR);
            out.insert(out.end(), chunk.data(), chunk.data() + (chunk.size() - z.avail_out));
        } while (z.avail_out == 0);
        return rc;
    };
    z.next_in = input.data();
    z.avail_in = static_cast<uInt>(input.size());
    pump(Z_NO_FLUSH);
    const Bytes block(1 << 20, 0);
    for (std::size_t left = zeros; left > 0;) {
        const std::size_t n = std::min(left, block.size());
        z.next_in = const_cast<Bytef*>(block.data());
        z.avail_in = static_cast<uInt>(n);
        pump(Z_NO_FLUSH);
        left -= n;
    }
    REQUIRE(pump(Z_FINISH) == Z_STREAM_END);
    deflateEnd(&z);
    return out;
}

}  // namespace

TEST_CASE("parse_idx: images and labels round trip") {
    const Bytes images = make_idx({3, 4, 5});
    const IdxArray a = parse_idx(images.data(), images.size(), "images");
    CHECK(a.dims == std::vector<std::size_t>{3, 4, 5});
    REQUIRE(a.data.size() == 60);
    CHECK(a.data[59] == 59);

    const Bytes labels = make_idx({7});
    const IdxArray l = parse_idx(labels.data(), labels.size(), "labels");
    CHECK(l.dims == std::vector<std::size_t>{7});
    CHECK(l.data.size() == 7);
    CHECK(dims_str(a.dims) == "3x4x5");
}

TEST_CASE("parse_idx: an empty array (N = 0) is valid") {
    const Bytes b = make_idx({0, 28, 28});
    CHECK(parse_idx(b.data(), b.size(), "empty").data.empty());
}

TEST_CASE("parse_idx: each malformation has its own message naming the file") {
    CHECK(contains(parse_error({}), "too short for an IDX header: 0 bytes"));
    CHECK(contains(parse_error({0, 0, 8}), "too short"));
    CHECK(contains(parse_error({0x1f, 0x8b, 8, 1, 0, 0, 0, 0}), "magic number 0x1F8B0801 does not start with two zero bytes"));
    CHECK(contains(parse_error(make_idx({2}, 0x0D)), "unsupported type code 0x0D (float32)"));
    CHECK(contains(parse_error(make_idx({2}, 0x42)), "0x42 (not an IDX type)"));
    CHECK(contains(parse_error({0, 0, 8, 0}), "number of dimensions 0 is not in 1..8"));
    CHECK(contains(parse_error({0, 0, 8, 9}), "number of dimensions 9"));
    CHECK(contains(parse_error({0, 0, 8, 3, 0, 0, 0, 1}), "truncated header: 3 dimensions need 16 bytes, file has 8"));

    Bytes truncated = make_idx({60000, 28, 28});
    truncated.resize(16 + 1000);
    CHECK(contains(parse_error(truncated),
                   "x.idx': truncated: header says 60000x28x28 = 47040000 bytes of data, file has 1000"));

    Bytes extra = make_idx({2, 2});
    extra.push_back(1);
    extra.push_back(2);
    CHECK(contains(parse_error(extra), "2 extra bytes after the data: header says 2x2 = 4 bytes of data, file has 6"));

    // 2^32-1 to the eighth power overflows size_t; it must be reported, not wrapped around.
    Bytes huge = {0, 0, 8, 8};
    for (int i = 0; i < 8; ++i) put_be32(huge, 0xFFFFFFFFu);
    CHECK(contains(parse_error(huge), "= too many bytes of data"));
    // A zero dimension makes the product zero even when others are huge.
    Bytes zero = {0, 0, 8, 2};
    put_be32(zero, 0);
    put_be32(zero, 0xFFFFFFFFu);
    CHECK(parse_error(zero).empty());
    CHECK(contains(parse_error({0, 0, 8, 1, 0, 0, 0, 2, 7}), "truncated"));
}

TEST_CASE("read_idx: plain and gzip files give the same array") {
    odenet::test::TempDir dir;
    const Bytes b = make_idx({2, 3, 3});
    write_plain(dir.file("plain-idx3-ubyte"), b);
    write_gzip(dir.file("gz-idx3-ubyte.gz"), b);
    const IdxArray plain = read_idx(dir.file("plain-idx3-ubyte"));
    const IdxArray gz = read_idx(dir.file("gz-idx3-ubyte.gz"));
    CHECK(plain.dims == gz.dims);
    CHECK(plain.data == gz.data);
    CHECK(read_maybe_gzip(dir.file("gz-idx3-ubyte.gz")) == b);
}

TEST_CASE("read_idx: file-level failures") {
    odenet::test::TempDir dir;
    CHECK_THROWS_WITH_AS(read_idx(dir.file("missing")), doctest::Contains("cannot open for reading"), IOError);

    // A gzip stream cut in the middle: zlib's truncation report becomes an IOError.
    const Bytes b = make_idx({50, 28, 28});
    write_gzip(dir.file("full.gz"), b);
    CHECK(read_maybe_gzip(dir.file("full.gz")) == b);
    std::ifstream in(dir.file("full.gz"), std::ios::binary);
    Bytes raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    raw.resize(raw.size() / 2);
    write_plain(dir.file("cut.gz"), raw);
    CHECK_THROWS_WITH_AS(read_idx(dir.file("cut.gz")), doctest::Contains("truncated gzip stream"), IOError);

    // Valid gzip header followed by garbage.
    Bytes garbage = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    for (int i = 0; i < 64; ++i) garbage.push_back(static_cast<std::uint8_t>(0xA5 ^ i));
    write_plain(dir.file("garbage.gz"), garbage);
    CHECK_THROWS_AS(read_idx(dir.file("garbage.gz")), IOError);

    // The error names the path, so the user knows which of the four files is bad.
    Bytes extra = make_idx({3});
    extra.push_back(0);
    write_plain(dir.file("labels-idx1-ubyte"), extra);
    CHECK_THROWS_WITH_AS(read_idx(dir.file("labels-idx1-ubyte")), doctest::Contains("labels-idx1-ubyte': 1 extra bytes"),
                         IOError);
}

TEST_CASE("load_images and load_labels") {
    odenet::test::TempDir dir;
    Bytes images = make_idx({2, 2, 3});
    images[16 + 5] = 255;
    write_gzip(dir.file("images.gz"), images);
    const Tensor<float> x = load_images(dir.file("images.gz"));
    CHECK(x.shape() == Shape{2, 1, 2, 3});
    CHECK(x(0, 0, 1, 2) == 1.0f);
    CHECK(x(1, 0, 0, 0) == doctest::Approx(6.0 / 255.0));

    write_plain(dir.file("labels"), make_idx({4}));
    CHECK(load_labels(dir.file("labels")) == std::vector<std::size_t>{0, 1, 2, 3});

    CHECK_THROWS_WITH_AS(load_images(dir.file("labels")), doctest::Contains("expected images"), IOError);
    CHECK_THROWS_WITH_AS(load_labels(dir.file("images.gz")), doctest::Contains("got 3 dimensions (2x2x3)"), IOError);
}

TEST_CASE("load_labels checks every label against the number of classes, naming file, index and value") {
    odenet::test::TempDir dir;
    Bytes labels = make_idx({6});  // 0 1 2 3 4 5
    labels[8 + 3] = 12;
    write_plain(dir.file("train-labels-idx1-ubyte"), labels);
    CHECK_THROWS_WITH_AS(load_labels(dir.file("train-labels-idx1-ubyte")),
                         ("load_labels: '" + dir.file("train-labels-idx1-ubyte") +
                          "': label 12 at index 3 is not a class: expected 0..9 (10 classes)")
                             .c_str(),
                         IOError);
    // The class count is a parameter: 13 classes admit the 12, 5 classes stop at the first 5 or more.
    CHECK(load_labels(dir.file("train-labels-idx1-ubyte"), 13) == std::vector<std::size_t>{0, 1, 2, 12, 4, 5});
    CHECK_THROWS_WITH_AS(load_labels(dir.file("train-labels-idx1-ubyte"), 5),
                         doctest::Contains("label 12 at index 3 is not a class: expected 0..4 (5 classes)"), IOError);
    CHECK_THROWS_WITH_AS(load_labels(dir.file("train-labels-idx1-ubyte"), 0),
                         "load_labels: num_classes must be >= 1, got 0", ValueError);
    // The last label too (the loop runs to the end), and through gzip.
    Bytes last = make_idx({4});
    last.back() = 10;
    write_gzip(dir.file("last.gz"), last);
    CHECK_THROWS_WITH_AS(load_labels(dir.file("last.gz")), doctest::Contains("label 10 at index 3"), IOError);
}

TEST_CASE("load_images and load_labels refuse an empty dataset") {
    odenet::test::TempDir dir;
    write_plain(dir.file("images"), make_idx({0, 28, 28}));
    const std::string images = dir.file("images");
    CHECK_THROWS_WITH_AS(load_images(images),
                         ("load_images: '" + images + "': no images: header says 0x28x28 (an empty dataset)").c_str(),
                         IOError);
    write_plain(dir.file("flat"), make_idx({5, 0, 28}));
    CHECK_THROWS_WITH_AS(load_images(dir.file("flat")), doctest::Contains("images of 0 pixels: header says 5x0x28"),
                         IOError);
    write_gzip(dir.file("labels.gz"), make_idx({0}));
    CHECK_THROWS_WITH_AS(load_labels(dir.file("labels.gz")), doctest::Contains("no labels: header says 0 (an empty dataset)"),
                         IOError);
}

// Note [Bounded inflation] in util/src/idx.cpp. The reader must stop one byte past what the
// header declares. That it stopped is observable without timing anything: the error states
// the byte count at which it stopped (7857), where inflating everything would have read
// 64 MiB + 16 bytes first.
TEST_CASE("read_idx: a gzip bomb is refused after the header-declared size, not inflated whole") {
    odenet::test::TempDir dir;
    Bytes header = {0, 0, 8, 3};
    for (std::uint32_t d : {10u, 28u, 28u}) put_be32(header, d);
    const Bytes bomb = gzip_of(header, std::size_t{64} << 20);
    CHECK(bomb.size() < 256 * 1024);  // about 64 KiB: a ratio of 1000:1
    write_plain(dir.file("bomb-idx3-ubyte.gz"), bomb);
    const std::string path = dir.file("bomb-idx3-ubyte.gz");
    CHECK_THROWS_WITH_AS(read_idx(path),
                         ("read_idx: '" + path +
                          "': the gzip stream inflates to more than the 7856 bytes its IDX header declares (16-byte "
                          "header, 10x28x28 = 7840 bytes of data); stopped after 7857 bytes")
                             .c_str(),
                         IOError);
    CHECK_THROWS_AS(load_images(path), IOError);

    // One byte too many is enough; exactly the declared size is fine.
    write_plain(dir.file("one-more.gz"), gzip_of(header, 7841));
    CHECK_THROWS_WITH_AS(read_idx(dir.file("one-more.gz")), doctest::Contains("stopped after 7857 bytes"), IOError);
    write_plain(dir.file("exact.gz"), gzip_of(header, 7840));
    CHECK(read_idx(dir.file("exact.gz")).data.size() == 7840);

    // A header whose data size overflows is refused before any data is inflated.
    Bytes huge = {0, 0, 8, 8};
    for (int i = 0; i < 8; ++i) put_be32(huge, 0xFFFFFFFFu);
    write_plain(dir.file("huge.gz"), gzip_of(huge, std::size_t{1} << 20));
    CHECK_THROWS_WITH_AS(read_idx(dir.file("huge.gz")), doctest::Contains("= too many bytes of data; not inflated"), IOError);
    // A bad header stops the reading at 4 bytes, with parse_idx's message.
    write_plain(dir.file("float.gz"), gzip_of({0, 0, 0x0D, 1}, std::size_t{1} << 20));
    CHECK_THROWS_WITH_AS(read_idx(dir.file("float.gz")), doctest::Contains("unsupported type code 0x0D"), IOError);
}
