#pragma once
// Whether ops record onto the tape. Thread-local, so two threads can build two graphs.
namespace odenet {

class GradMode {
public:
    static bool enabled();
    static void set_enabled(bool enabled);
};

/// Nothing is recorded while it lives (inference, optimizer updates, the adjoint's forward solve).
class NoGradGuard {
public:
    NoGradGuard() : previous_(GradMode::enabled()) { GradMode::set_enabled(false); }
    ~NoGradGuard() { GradMode::set_enabled(previous_); }
    NoGradGuard(const NoGradGuard&) = delete;
    NoGradGuard& operator=(const NoGradGuard&) = delete;

private:
    bool previous_;
};

/// Recording is on while it lives, even inside a NoGradGuard: the nested recording scope that
/// vjp and the adjoint's right-hand side open (as Stan's nested_rev_autodiff).
class EnableGradGuard {
public:
    explicit EnableGradGuard(bool enabled = true) : previous_(GradMode::enabled()) { GradMode::set_enabled(enabled); }
    ~EnableGradGuard() { GradMode::set_enabled(previous_); }
    EnableGradGuard(const EnableGradGuard&) = delete;
    EnableGradGuard& operator=(const EnableGradGuard&) = delete;

private:
    bool previous_;
};

}  // namespace odenet
