#include "odenet/util/progress.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace odenet::util {

namespace {

std::string format_number(double v, bool integral) {
    char buf[48];
    if (integral) std::snprintf(buf, sizeof buf, "%.0f", v);
    else std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
}

std::string format_rate(std::size_t done, double elapsed) {
    if (done == 0 || !(elapsed > 0.0)) return "? it/s";
    const double rate = double(done) / elapsed;
    char buf[48];
    // Slow loops (one ODE-Net epoch) read better as seconds per iteration.
    if (rate < 1.0) std::snprintf(buf, sizeof buf, "%.2f s/it", 1.0 / rate);
    else std::snprintf(buf, sizeof buf, "%.3g it/s", rate);
    return buf;
}

}  // namespace

std::string format_duration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0.0) return "--:--";
    const auto s = static_cast<long long>(std::llround(seconds));
    char buf[48];
    if (s >= 3600) std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
    else std::snprintf(buf, sizeof buf, "%02lld:%02lld", s / 60, s % 60);
    return buf;
}

std::string format_progress(const std::string& label, std::size_t done, std::size_t total, double elapsed,
                            const std::vector<Metric>& metrics, std::size_t bar_width) {
    std::string line = label;
    if (!line.empty()) line += ' ';
    if (total > 0) {
        const double frac = std::min(1.0, double(done) / double(total));
        char pct[8];
        std::snprintf(pct, sizeof pct, "%3d%%", static_cast<int>(std::floor(100.0 * frac)));
        line += pct;
        if (bar_width > 0) {
            const auto filled = static_cast<std::size_t>(std::floor(frac * double(bar_width)));
            line.append(" [").append(filled, '#').append(bar_width - filled, ' ').append("]");
        }
        line += ' ';
    }
    // Appended piece by piece: GCC 12 misreports `"literal" + std::string` as an overlapping
    // memcpy (-Wrestrict), a known false positive.
    line += std::to_string(done);
    if (total > 0) line.append("/").append(std::to_string(total));
    line.append("  ").append(format_rate(done, elapsed)).append("  ").append(format_duration(elapsed));
    if (total > 0) {
        const double eta = done > 0 && done <= total ? elapsed / double(done) * double(total - done) : -1.0;
        line.append("<").append(format_duration(eta));
    }
    if (!metrics.empty()) line += ' ';
    for (const Metric& m : metrics) line.append(" ").append(m.name).append("=").append(format_number(m.value, m.integral));
    return line;
}

ProgressBar::ProgressBar(std::size_t total, std::string label, ProgressOptions opt)
    : total_(total), label_(std::move(label)), opt_(opt), tty_(::isatty(::fileno(opt.out)) == 1),
      start_(std::chrono::steady_clock::now()) {}

ProgressBar::~ProgressBar() {
    try {
        finish(last_metrics_);
    } catch (...) {  // a destructor must not throw; the output is only cosmetic
    }
}

double ProgressBar::seconds_since_start() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void ProgressBar::update(std::size_t done, const std::vector<Metric>& metrics) {
    if (finished_) return;
    done_ = done;
    last_metrics_ = metrics;
    const double now = seconds_since_start();
    const double interval = tty_ ? opt_.tty_interval : opt_.plain_interval;
    if (printed_ && now - last_print_ < interval) return;
    last_print_ = now;
    print(format_progress(label_, done, total_, now, metrics, tty_ ? 20 : 0), false);
}

void ProgressBar::finish(const std::vector<Metric>& metrics) {
    if (finished_) return;
    finished_ = true;
    const std::vector<Metric>& shown = metrics.empty() ? last_metrics_ : metrics;
    print(format_progress(label_, done_, total_, seconds_since_start(), shown, tty_ ? 20 : 0), true);
}

void ProgressBar::write(const std::string& line, std::FILE* to) {
    const bool redraw = tty_ && printed_ && !finished_;
    if (redraw) {
        std::fputs("\r\x1b[K", opt_.out);
        std::fflush(opt_.out);
    }
    std::fprintf(to, "%s\n", line.c_str());
    std::fflush(to);
    if (redraw) print(format_progress(label_, done_, total_, seconds_since_start(), last_metrics_, 20), false);
}

void ProgressBar::print(const std::string& line, bool final) {
    printed_ = true;
    if (tty_) {
        // \r returns to the line start; ESC[K clears what a longer previous line left behind.
        std::fprintf(opt_.out, "\r%s\x1b[K%s", line.c_str(), final ? "\n" : "");
    } else {
        std::fprintf(opt_.out, "%s\n", line.c_str());
    }
    std::fflush(opt_.out);
}

}  // namespace odenet::util
