#include <doctest/doctest.h>

#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "odenet/core/error.hpp"
#include "odenet/util/png_image.hpp"
#include "support/temp_dir.hpp"

using namespace odenet;
using namespace odenet::util;

TEST_CASE("save_png then read back with libpng: size and pixels survive") {
    odenet::test::TempDir dir;
    Image img(7, 5, {10, 20, 30});
    img.plot(3, 2, {200, 100, 50});
    img.plot(6, 4, {1, 2, 3});
    img.plot(-1, 2, kBlack);  // clipped, not an error
    img.plot(7, 0, kBlack);
    const std::string path = dir.file("a.png");
    img.save_png(path);
    const Image back = read_png(path);
    CHECK(back.width() == 7);
    CHECK(back.height() == 5);
    CHECK(back.pixel(3, 2) == Rgb{200, 100, 50});
    CHECK(back.pixel(6, 4) == Rgb{1, 2, 3});
    CHECK(back.pixel(0, 0) == Rgb{10, 20, 30});
    CHECK(back.bytes() == img.bytes());
}

TEST_CASE("save_png replaces the old file and leaves no temporary behind") {
    odenet::test::TempDir dir;
    const std::string path = dir.file("b.png");
    Image(4, 4, kBlack).save_png(path);
    Image(9, 3, kWhite).save_png(path);
    CHECK(read_png(path).width() == 9);
    std::size_t files = 0;
    for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path())) {
        (void)e;
        ++files;
    }
    CHECK(files == 1);
}

TEST_CASE("save_png is atomic: a write killed midway leaves the old file intact") {
    // A child process starts writing a large PNG over an existing one and is killed with SIGKILL
    // as soon as its first bytes reach the folder; the old file must still read back whole. The
    // 2400x2400 noise image compresses at a few tens of MB/s, so the write takes a good fraction
    // of a second while the parent polls every 0.2 ms: the kill lands mid-write, and the test
    // checks that it did (the child died of the signal, not by finishing).
    odenet::test::TempDir dir;
    const std::string path = dir.file("atomic.png");
    Image old(5, 3, {10, 20, 30});
    old.plot(2, 1, {200, 0, 0});
    old.save_png(path);
    const auto old_size = std::filesystem::file_size(path);
    const auto old_time = std::filesystem::last_write_time(path);

    Image big(2400, 2400, kBlack);
    std::uint32_t state = 12345;  // xorshift noise: incompressible, so the write is slow
    for (long y = 0; y < 2400; ++y)
        for (long x = 0; x < 2400; ++x) {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            big.plot(x, y, {std::uint8_t(state), std::uint8_t(state >> 8), std::uint8_t(state >> 16)});
        }

    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        try {
            big.save_png(path);
        } catch (...) {
            ::_exit(2);
        }
        ::_exit(0);
    }
    // Poll until the child has written something: a new file in the folder with bytes in it, or
    // the target itself changed (a non-atomic writer truncates and rewrites it in place).
    auto started = [&] {
        for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path())) {
            std::error_code ec;
            if (e.path().filename() == "atomic.png") {
                const auto size = std::filesystem::file_size(path, ec);
                if (!ec && (size != old_size || std::filesystem::last_write_time(path, ec) != old_time)) return true;
            } else if (std::filesystem::file_size(e.path(), ec) > 0 && !ec) {
                return true;
            }
        }
        return false;
    };
    bool seen = false;
    for (int i = 0; i < 300000 && !seen; ++i) {  // at most a minute
        seen = started();
        if (!seen) ::usleep(200);
    }
    ::kill(child, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(seen);
    REQUIRE_MESSAGE(WIFSIGNALED(status), "the child finished its write before the kill: the test proves nothing");
    CHECK(WTERMSIG(status) == SIGKILL);

    const Image back = read_png(path);
    CHECK(back.width() == 5);
    CHECK(back.height() == 3);
    CHECK(back.bytes() == old.bytes());
}

TEST_CASE("PNG failures are IOErrors naming the path") {
    odenet::test::TempDir dir;
    CHECK_THROWS_WITH_AS(Image(2, 2).save_png(dir.file("no/such/dir/c.png")), doctest::Contains("no/such/dir/c.png"), IOError);
    CHECK_THROWS_WITH_AS(read_png(dir.file("missing.png")), doctest::Contains("missing.png"), IOError);
    std::ofstream(dir.file("not.png")) << "this is not a PNG";
    CHECK_THROWS_AS(read_png(dir.file("not.png")), IOError);
    CHECK_THROWS_AS(Image(0, 3), ValueError);
    CHECK_THROWS_AS(Image(2, 2).pixel(2, 0), ValueError);
}

TEST_CASE("drawing: blending, lines, rectangles, text") {
    Image img(20, 12, kWhite);
    img.plot(0, 0, kBlack, 0.5);
    CHECK(img.pixel(0, 0) == Rgb{128, 128, 128});  // round(0.5 * 255)

    img.draw_line(2, 1, 12, 6, {255, 0, 0});  // both ends drawn, in every octant
    CHECK(img.pixel(2, 1) == Rgb{255, 0, 0});
    CHECK(img.pixel(12, 6) == Rgb{255, 0, 0});
    img.draw_line(12, 6, 2, 11, {0, 255, 0});
    CHECK(img.pixel(2, 11) == Rgb{0, 255, 0});

    // A line from far outside is clipped to the image (and does not walk 10^12 pixels).
    Image clip(10, 10, kWhite);
    clip.draw_line(-1000000000000L, 5, 1000000000000L, 5, kBlack);
    CHECK(clip.pixel(0, 5) == kBlack);
    CHECK(clip.pixel(9, 5) == kBlack);
    CHECK(clip.pixel(5, 4) == kWhite);
    clip.draw_line(-50, -50, -10, 200, kBlack);  // entirely outside: nothing drawn
    CHECK(clip.pixel(0, 0) == kWhite);

    img.fill_rect(15, 8, 17, 9, {0, 0, 255});
    CHECK(img.pixel(16, 9) == Rgb{0, 0, 255});
    CHECK(img.pixel(18, 9) == kWhite);

    // "1" in the 5x7 font: its stem is the middle column, its base a 3-pixel bar.
    Image t(12, 9, kWhite);
    CHECK(t.draw_text(1, 1, "1", kBlack) == text_width("1"));
    CHECK(t.pixel(3, 4) == kBlack);
    CHECK(t.pixel(1, 4) == kWhite);
    CHECK(t.pixel(2, 7) == kBlack);
    CHECK(text_width("loss", 2) == 48);
}
