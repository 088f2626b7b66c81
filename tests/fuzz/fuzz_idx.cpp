// libFuzzer target for the IDX reader: any input must either parse or throw odenet::Error;
// a crash, a sanitizer report, an out-of-memory or a different exception is a bug.
// Each input is parsed from memory (parse_idx) and, gzip-compressed into a file, read back by
// read_idx, whose bounded inflation (Note [Bounded inflation] in util/src/idx.cpp) must agree
// with parse_idx: both accept with the same array, or both refuse.
// Build and run: scripts/fuzz idx [seconds] (or scripts/fuzz-idx).
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "odenet/core/error.hpp"
#include "odenet/util/idx.hpp"

namespace {

// One file per process (libFuzzer's -jobs run several), removed at exit; in /dev/shm when it
// is there, as a file on disk per input costs milliseconds of system time.
struct GzipFile {
    std::string path = std::string(::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp") + "/odenet-fuzz-idx-" +
                       std::to_string(::getpid()) + ".gz";
    ~GzipFile() { ::unlink(path.c_str()); }
};

const std::string& gzip_path() {
    static const GzipFile file;
    return file.path;
}

// Writes `data` gzip-compressed to gzip_path(). A small deflate state (window 2^9, memLevel 1)
// keeps the per-input cost low; the stream is valid gzip all the same.
void write_gzip(const std::uint8_t* data, std::size_t size) {
    z_stream z{};
    if (deflateInit2(&z, 1, Z_DEFLATED, 9 + 16, 1, Z_DEFAULT_STRATEGY) != Z_OK) __builtin_trap();
    std::vector<std::uint8_t> out(deflateBound(&z, size));
    z.next_in = const_cast<std::uint8_t*>(data);
    z.avail_in = static_cast<uInt>(size);
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) __builtin_trap();
    out.resize(out.size() - z.avail_out);
    deflateEnd(&z);
    const int fd = ::open(gzip_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ::write(fd, out.data(), out.size()) != static_cast<ssize_t>(out.size()) || ::close(fd) != 0) {
        __builtin_trap();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    bool parsed = false;
    odenet::util::IdxArray a;
    try {
        a = odenet::util::parse_idx(data, size, "fuzz");
        parsed = true;
        // Invariant of a successful parse: the data is exactly the product of the dimensions.
        std::size_t n = 1;
        for (std::size_t d : a.dims) n *= d;
        if (n != a.data.size()) __builtin_trap();
    } catch (const odenet::Error&) {
    }
    write_gzip(data, size);
    try {
        const odenet::util::IdxArray b = odenet::util::read_idx(gzip_path());
        if (!parsed || b.dims != a.dims || b.data != a.data) __builtin_trap();
    } catch (const odenet::Error&) {
        if (parsed) __builtin_trap();
    }
    return 0;
}
