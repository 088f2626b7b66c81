#include "odenet/examples/run_folder.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>

#include "odenet/core/error.hpp"

namespace odenet::examples {

namespace fs = std::filesystem;

namespace {

// The writer's process id in "<output>.tmp-<pid>-<n>" or "<output>.tmp.<pid>", if `name` is one.
std::optional<long> temporary_of(const std::string& name, const std::string& output) {
    const std::string stem = output + ".tmp";
    if (!name.starts_with(stem) || name.size() < stem.size() + 2) return std::nullopt;
    const char sep = name[stem.size()];
    if (sep != '-' && sep != '.') return std::nullopt;
    std::size_t i = stem.size() + 1, j = i;
    while (j < name.size() && name[j] >= '0' && name[j] <= '9' && j - i < 10) ++j;
    if (j == i || (j < name.size() && name[j] != '-')) return std::nullopt;
    return std::stol(name.substr(i, j - i));
}

bool process_alive(long pid) {
    // kill(pid, 0) sends nothing; EPERM means the process exists but belongs to someone else.
    return pid == long(::getpid()) || ::kill(pid_t(pid), 0) == 0 || errno == EPERM;
}

std::string listing(const std::vector<std::string>& names) {
    std::string out;
    const std::size_t shown = std::min<std::size_t>(names.size(), 4);
    for (std::size_t i = 0; i < shown; ++i) out += (i ? ", " : "") + names[i];
    if (names.size() > shown) out += " and " + std::to_string(names.size() - shown) + " more";
    return out;
}

void probe_writable(const RunFolder& run) {
    const fs::path probe = fs::path(run.path) / (".write-probe-" + std::to_string(::getpid()));
    const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const bool wrote = fd >= 0 && ::write(fd, "x", 1) == 1;
    const std::string why = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    ::unlink(probe.c_str());
    if (!wrote) throw IOError(run.program, run.path, "cannot write into this folder (" + why + "); choose another --out");
}

}  // namespace

std::vector<fs::path> stale_temporaries(const fs::path& folder, const std::vector<std::string>& outputs) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator(folder, ec)) {
        const std::string name = e.path().filename().string();
        for (const std::string& output : outputs) {
            const std::optional<long> pid = temporary_of(name, output);
            if (pid && e.is_regular_file() && !process_alive(*pid)) out.push_back(e.path());
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

void prepare_run_folder(const RunFolder& run) {
    if (run.resume && run.overwrite) throw ValueError(run.program, "--resume and --overwrite exclude each other");
    std::error_code ec;
    if (fs::exists(run.path, ec) && !fs::is_directory(run.path, ec)) {
        throw IOError(run.program, run.path, "exists and is not a folder; choose another --out");
    }
    fs::create_directories(run.path, ec);
    if (ec) throw IOError(run.program, run.path, "cannot create the output folder: " + ec.message());

    // 1. Refuse an occupied folder before changing anything in it.
    const std::vector<fs::path> stale = stale_temporaries(run.path, run.outputs);
    std::vector<std::string> present;
    for (const fs::directory_entry& e : fs::directory_iterator(run.path)) {
        if (std::find(stale.begin(), stale.end(), e.path()) == stale.end()) present.push_back(e.path().filename());
    }
    std::sort(present.begin(), present.end());
    if (!present.empty() && !run.resume && !run.overwrite) {
        throw IOError(run.program, run.path,
                      "already holds files (" + listing(present) + "); " +
                          (run.can_resume ? "pass --resume to continue the run in it or --overwrite to replace it"
                                          : "pass --overwrite to replace them or choose another --out"));
    }
    // 2. Temporaries of saves that were killed before their rename.
    for (const fs::path& p : stale) {
        fs::remove(p, ec);
        std::printf("%s: removed %s, left by an interrupted save\n", run.program.c_str(), p.c_str());
    }
    // 3. The earlier run's outputs (other files in the folder are left alone).
    if (run.overwrite) {
        for (const std::string& name : run.outputs) {
            const fs::path p = fs::path(run.path) / name;
            if (fs::is_regular_file(p, ec) && !fs::remove(p, ec)) {
                throw IOError(run.program, p.string(), "cannot remove it for --overwrite: " + ec.message());
            }
        }
    }
    // 4. Every output must be writable now, not only after the training.
    for (const std::string& name : run.outputs) {
        const fs::path p = fs::path(run.path) / name;
        if (fs::exists(p, ec) && !fs::is_regular_file(p, ec)) {
            throw IOError(run.program, p.string(), "is in the way of an output file (it is not a regular file)");
        }
    }
    probe_writable(run);
}

}  // namespace odenet::examples
