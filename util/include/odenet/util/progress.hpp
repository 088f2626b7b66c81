#pragma once
// A one-line progress bar for training loops, on stderr:
//   train  45% [#########           ] 450/1000  12.3 it/s  00:36<00:44  loss=1.23 nfe_f=26
// On a terminal the line is redrawn in place (\r); otherwise (CI logs, files) a plain line is
// printed at most every `plain_interval` seconds, so logs stay short.
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace odenet::util {

/// A named number shown after the bar. Integers print as integers (nfe), others with 4
/// significant digits (loss).
struct Metric {
    template <class T>
        requires std::is_arithmetic_v<T>
    Metric(std::string n, T v) : name(std::move(n)), value(static_cast<double>(v)), integral(std::is_integral_v<T>) {}
    std::string name;
    double value;
    bool integral;
};

/// "00:36", "1:02:03"; "--:--" for a negative or non-finite time.
std::string format_duration(double seconds);

/// The progress line for `done` of `total` after `elapsed` seconds (pure: no clock, no I/O).
/// total = 0 means unknown: no percentage, bar or ETA. bar_width = 0 leaves the bar out.
std::string format_progress(const std::string& label, std::size_t done, std::size_t total, double elapsed,
                            const std::vector<Metric>& metrics, std::size_t bar_width = 20);

struct ProgressOptions {
    std::FILE* out = stderr;
    double plain_interval = 10.0;  // seconds between lines when `out` is not a terminal
    double tty_interval = 0.1;     // seconds between redraws on a terminal
};

class ProgressBar {
public:
    ProgressBar(std::size_t total, std::string label, ProgressOptions opt = {});
    ~ProgressBar();
    ProgressBar(const ProgressBar&) = delete;
    ProgressBar& operator=(const ProgressBar&) = delete;

    /// Records progress; prints when the interval has passed (and always for the first update).
    void update(std::size_t done, const std::vector<Metric>& metrics = {});
    /// Prints the final line and a newline. Later calls do nothing; the destructor calls it.
    void finish(const std::vector<Metric>& metrics = {});
    /// Prints `line` and a newline to `to` without garbling the bar (as tqdm.write): on a
    /// terminal the bar is cleared first and redrawn below the line.
    void write(const std::string& line, std::FILE* to = stdout);
    /// Whether the bar redraws in place (its stream is a terminal).
    bool interactive() const noexcept { return tty_; }

private:
    void print(const std::string& line, bool final);
    double seconds_since_start() const;

    std::size_t total_;
    std::string label_;
    ProgressOptions opt_;
    bool tty_;
    bool finished_ = false;
    bool printed_ = false;
    std::size_t done_ = 0;
    std::vector<Metric> last_metrics_;
    std::chrono::steady_clock::time_point start_;
    double last_print_ = 0.0;
};

}  // namespace odenet::util
