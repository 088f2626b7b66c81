#include <doctest/doctest.h>

#include <pty.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "odenet/util/progress.hpp"

using namespace odenet::util;

namespace {

// Everything written to a temporary FILE* (which is not a terminal).
std::string contents(std::FILE* f) {
    std::rewind(f);
    std::string s;
    for (int c; (c = std::fgetc(f)) != EOF;) s += static_cast<char>(c);
    return s;
}

std::size_t count(const std::string& s, char c) {
    std::size_t n = 0;
    for (char x : s) n += x == c;
    return n;
}

}  // namespace

TEST_CASE("format_duration") {
    CHECK(format_duration(0) == "00:00");
    CHECK(format_duration(36.4) == "00:36");
    CHECK(format_duration(59.6) == "01:00");
    CHECK(format_duration(3723) == "1:02:03");
    CHECK(format_duration(-1) == "--:--");
    CHECK(format_duration(1.0 / 0.0) == "--:--");
}

TEST_CASE("format_progress: percentage, bar, count, rate, elapsed<ETA, metrics") {
    const std::string line = format_progress("train", 450, 1000, 36.0, {{"loss", 1.23456}, {"nfe_f", 26}});
    CHECK(line == "train  45% [#########           ] 450/1000  12.5 it/s  00:36<00:44  loss=1.235 nfe_f=26");
    // Without a bar (what non-terminal output uses).
    CHECK(format_progress("", 1000, 1000, 10.0, {}, 0) == "100% 1000/1000  100 it/s  00:10<00:00");
    // Slow iterations read as seconds per iteration; no progress yet means unknown rate and ETA.
    CHECK(format_progress("epoch", 2, 10, 100.0, {}, 0) == "epoch  20% 2/10  50.00 s/it  01:40<06:40");
    CHECK(format_progress("x", 0, 10, 0.0, {}, 4) == "x   0% [    ] 0/10  ? it/s  00:00<--:--");
    // Unknown total: a count only.
    CHECK(format_progress("warmup", 7, 0, 2.0, {}) == "warmup 7  3.5 it/s  00:02");
    // Done beyond total (a miscounted loop) clamps the bar instead of overflowing it.
    CHECK(format_progress("", 12, 10, 1.0, {}, 4) == "100% [####] 12/10  12 it/s  00:01<--:--");
    const int nfe = 130;
    const std::size_t step = 5;
    CHECK(format_progress("", 1, 0, 1.0, {{"nfe", nfe}, {"step", step}, {"lr", 1e-3f}}) == "1  1 it/s  00:01  nfe=130 step=5 lr=0.001");
}

TEST_CASE("ProgressBar off a terminal: a plain line at most every interval, and one at finish") {
    std::FILE* f = std::tmpfile();
    REQUIRE(f != nullptr);
    {
        ProgressBar bar(100, "fit", {.out = f, .plain_interval = 3600.0});
        CHECK_FALSE(bar.interactive());
        for (std::size_t i = 1; i <= 100; ++i) bar.update(i, {{"loss", 1.0 / double(i)}});
        bar.finish();
        bar.finish();  // idempotent
    }
    const std::string out = contents(f);
    CHECK(count(out, '\n') == 2);  // the first update and the finish line
    CHECK(count(out, '\r') == 0);
    CHECK(out.find("fit 100% 100/100") != std::string::npos);
    CHECK(out.find("loss=0.01") != std::string::npos);  // finish repeats the last metrics
    std::fclose(f);

    std::FILE* g = std::tmpfile();
    REQUIRE(g != nullptr);
    {
        ProgressBar bar(3, "", {.out = g, .plain_interval = 0.0});
        for (std::size_t i = 1; i <= 3; ++i) bar.update(i);
    }  // the destructor finishes
    CHECK(count(contents(g), '\n') == 4);
    std::fclose(g);
}

TEST_CASE("ProgressBar::write: the line goes to its stream; on a terminal the bar is cleared and redrawn") {
    std::FILE* bar_out = std::tmpfile();
    std::FILE* lines = std::tmpfile();
    REQUIRE(bar_out != nullptr);
    REQUIRE(lines != nullptr);
    {
        ProgressBar bar(10, "fit", {.out = bar_out, .plain_interval = 3600.0});
        bar.update(1);
        bar.write("Iter 0001 | Total Loss 0.5", lines);
        bar.update(2);
    }
    CHECK(contents(lines) == "Iter 0001 | Total Loss 0.5\n");
    CHECK(count(contents(bar_out), '\n') == 2);  // the first update and the finish line, no redraw
    std::fclose(bar_out);

    // A pseudo-terminal: the bar's stream is a tty, so write() clears the line (\r ESC[K) and
    // redraws the bar after the line.
    int master = -1, slave = -1;
    REQUIRE(openpty(&master, &slave, nullptr, nullptr, nullptr) == 0);
    std::FILE* tty = fdopen(slave, "w");
    REQUIRE(tty != nullptr);
    {
        ProgressBar bar(10, "fit", {.out = tty});
        REQUIRE(bar.interactive());
        bar.update(3, {{"loss", 0.25}});
        bar.write("between", lines);
    }
    std::fclose(tty);
    std::string shown(4096, '\0');
    const ssize_t n = ::read(master, shown.data(), shown.size());
    ::close(master);
    REQUIRE(n > 0);
    shown.resize(std::size_t(n));
    // update, clear, redraw, finish: three bars.
    std::size_t bars = 0, clears = 0;
    for (std::size_t p = 0; (p = shown.find("fit  30%", p)) != std::string::npos; ++p) ++bars;
    for (std::size_t p = 0; (p = shown.find("\r\x1b[K", p)) != std::string::npos; ++p) ++clears;
    CHECK(bars == 3);
    CHECK(clears == 1);  // print() writes \r, the line, then ESC[K; only write() writes \r ESC[K
    CHECK(contents(lines).find("between\n") != std::string::npos);
    std::fclose(lines);
}
