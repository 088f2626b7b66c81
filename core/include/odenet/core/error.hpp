#pragma once
// The error hierarchy. Every message names the operation ("where") and the values involved,
// e.g. "matmul: inner dimensions differ, (3, 4) @ (5, 2)". Catch odenet::Error for all of them.
#include <cstddef>
#include <stdexcept>
#include <string>

namespace odenet {

/// Base of every exception odenet throws. what() is "<where>: <message>".
class Error : public std::runtime_error {
public:
    Error(std::string where, std::string message);
    const std::string& where() const noexcept { return where_; }
    const std::string& message() const noexcept { return message_; }

private:
    std::string where_;
    std::string message_;
};

/// Shapes that do not fit: broadcasting, matmul dimensions, a right-hand side of the wrong shape.
class ShapeError : public Error {
public:
    using Error::Error;
};

/// A value outside its domain: NaN or Inf in a state, a negative tolerance, an unknown name.
class ValueError : public Error {
public:
    using Error::Error;
};

/// float32 and float64 mixed where one dtype is required.
class DtypeError : public Error {
public:
    using Error::Error;
};

/// Misuse of the autodiff graph: backward twice without retain_graph, a non-scalar loss.
class GraphError : public Error {
public:
    using Error::Error;
};

/// An ODE solve that cannot go on. Carries the time, the step size and the reason, so that
/// callers can react (e.g. lower the learning rate) and users can read where it failed.
class SolverError : public Error {
public:
    static constexpr std::size_t kNoComponent = static_cast<std::size_t>(-1);
    /// `component`: the flat index of the state entry found non-finite, when that is the reason
    /// (callers whose state packs several tensors, as odeint's adjoint, translate it).
    SolverError(std::string where, double t, double h, std::string reason, std::size_t component = kNoComponent);
    double t() const noexcept { return t_; }
    double h() const noexcept { return h_; }
    const std::string& reason() const noexcept { return reason_; }
    std::size_t component() const noexcept { return component_; }

private:
    double t_;
    double h_;
    std::string reason_;
    std::size_t component_;
};

/// A file that cannot be read or written: missing, truncated, corrupt, of the wrong format.
class IOError : public Error {
public:
    IOError(std::string where, std::string path, std::string message);
    const std::string& path() const noexcept { return path_; }

private:
    std::string path_;
};

}  // namespace odenet
