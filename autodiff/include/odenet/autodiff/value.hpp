#pragma once
// Value: the numbers a Var holds, float32 or float64, chosen at run time. A Value is a shared
// handle (copying it shares the buffer, as PyTorch tensors do), which is what lets a graph node
// keep its own output for the backward pass without holding the output Var (a reference cycle).
// See Note [Saved outputs] in engine.cpp.
#include <memory>
#include <variant>

#include "odenet/core/error.hpp"
#include "odenet/core/tensor.hpp"

namespace odenet {

class Value {
public:
    Value() = default;
    // By reference rather than by value: moving an xarray costs a swap of three small vectors,
    // noticeable on the per-op path.
    Value(Tensor<float>&& t) : p_(std::make_shared<Tensor<float>>(std::move(t))) {}
    Value(Tensor<double>&& t) : p_(std::make_shared<Tensor<double>>(std::move(t))) {}
    Value(const Tensor<float>& t) : p_(std::make_shared<Tensor<float>>(t)) {}
    Value(const Tensor<double>& t) : p_(std::make_shared<Tensor<double>>(t)) {}

    bool defined() const { return !std::visit([](const auto& p) { return p == nullptr; }, p_); }
    Dtype dtype() const { return p_.index() == 0 ? Dtype::float32 : Dtype::float64; }
    const Shape& shape() const {
        return std::visit([](const auto& p) -> const Shape& { return p->shape(); }, p_);
    }
    std::size_t size() const { return std::visit([](const auto& p) { return p->size(); }, p_); }

    /// The tensor as dtype T; throws DtypeError if it holds the other dtype.
    template <class T>
    const Tensor<T>& as() const {
        return *ptr<T>();
    }
    /// Mutable access to a buffer others may share (optimizers updating parameters in place).
    template <class T>
    Tensor<T>& as_mutable() {
        return *ptr<T>();
    }
    /// How many handles share the buffer (1 means it may be overwritten in place safely).
    long use_count() const { return std::visit([](const auto& p) { return p.use_count(); }, p_); }

    /// A deep copy with its own buffer.
    Value clone() const {
        return std::visit([](const auto& p) { return Value(Tensor<typename std::decay_t<decltype(*p)>::value_type>(*p)); }, p_);
    }

    /// Calls f(const Tensor<T>&) with the held tensor.
    template <class F>
    decltype(auto) visit(F&& f) const {
        return std::visit([&](const auto& p) -> decltype(auto) { return f(*p); }, p_);
    }

private:
    template <class T>
    const std::shared_ptr<Tensor<T>>& ptr() const {
        if (const auto* p = std::get_if<std::shared_ptr<Tensor<T>>>(&p_)) return *p;
        throw DtypeError("Value", std::string("requested ") + dtype_name(dtype_of<T>()) + " from a " +
                                      dtype_name(dtype()) + " tensor");
    }

    std::variant<std::shared_ptr<Tensor<float>>, std::shared_ptr<Tensor<double>>> p_;
};

}  // namespace odenet
