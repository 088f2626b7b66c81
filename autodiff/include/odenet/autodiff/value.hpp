#pragma once
// Value: the numbers a Var holds, float32 or float64, chosen at run time. A Value is a shared
// handle (copying it shares the buffer, as PyTorch tensors do), which is what lets a graph node
// keep its own output for the backward pass without holding the output Var (a reference cycle).
// See Note [Saved outputs] in engine.cpp. The buffer carries a version counter, bumped by every
// write through as_mutable(); see Note [Version counters] in var.cpp.
#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>
#include <variant>

#include "odenet/core/error.hpp"
#include "odenet/core/tensor.hpp"

namespace odenet {

class Value {
public:
    Value() = default;
    // By reference rather than by value: moving an xarray costs a swap of three small vectors,
    // noticeable on the per-op path.
    Value(Tensor<float>&& t) : p_(std::make_shared<Buffer<float>>(std::move(t))) {}
    Value(Tensor<double>&& t) : p_(std::make_shared<Buffer<double>>(std::move(t))) {}
    Value(const Tensor<float>& t) : p_(std::make_shared<Buffer<float>>(t)) {}
    Value(const Tensor<double>& t) : p_(std::make_shared<Buffer<double>>(t)) {}

    bool defined() const { return !std::visit([](const auto& p) { return p == nullptr; }, p_); }
    Dtype dtype() const { return p_.index() == 0 ? Dtype::float32 : Dtype::float64; }
    const Shape& shape() const {
        return std::visit([](const auto& p) -> const Shape& { return p->tensor.shape(); }, p_);
    }
    std::size_t size() const { return std::visit([](const auto& p) { return p->tensor.size(); }, p_); }

    /// The tensor as dtype T; throws DtypeError if it holds the other dtype.
    template <class T>
    const Tensor<T>& as() const {
        return ptr<T>()->tensor;
    }
    /// Mutable access to a buffer others may share (optimizers updating parameters in place).
    /// Counts as one in-place write: the buffer's version goes up by one.
    template <class T>
    Tensor<T>& as_mutable() {
        Buffer<T>& b = *ptr<T>();
        // Not an atomic increment: writers of one buffer on two threads race on the data anyway,
        // and a lost increment still leaves the version changed. Relaxed loads cost nothing.
        b.version.store(b.version.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        return b.tensor;
    }
    /// How many in-place writes the buffer has seen (shared by every handle to it); 0 when undefined.
    std::uint32_t version() const {
        return std::visit([](const auto& p) { return p ? p->version.load(std::memory_order_relaxed) : 0u; }, p_);
    }
    /// How many handles share the buffer (1 means it may be overwritten in place safely).
    long use_count() const { return std::visit([](const auto& p) { return p.use_count(); }, p_); }

    /// A deep copy with its own buffer.
    Value clone() const {
        return std::visit([](const auto& p) { return Value(p->tensor); }, p_);
    }

    /// Calls f(const Tensor<T>&) with the held tensor.
    template <class F>
    decltype(auto) visit(F&& f) const {
        return std::visit([&](const auto& p) -> decltype(auto) { return f(std::as_const(p->tensor)); }, p_);
    }

private:
    // The tensor and its version counter, in one allocation.
    template <class T>
    struct Buffer {
        explicit Buffer(Tensor<T>&& t) : tensor(std::move(t)) {}
        explicit Buffer(const Tensor<T>& t) : tensor(t) {}
        Tensor<T> tensor;
        std::atomic<std::uint32_t> version{0};
    };

    template <class T>
    const std::shared_ptr<Buffer<T>>& ptr() const {
        if (const auto* p = std::get_if<std::shared_ptr<Buffer<T>>>(&p_)) return *p;
        throw DtypeError("Value", std::string("requested ") + dtype_name(dtype_of<T>()) + " from a " +
                                      dtype_name(dtype()) + " tensor");
    }

    std::variant<std::shared_ptr<Buffer<float>>, std::shared_ptr<Buffer<double>>> p_;
};

}  // namespace odenet
