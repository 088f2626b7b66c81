// Note [Version counters]
// A backward formula that saved a Var (mul keeps both operands) computes with that Var's value
// when the backward runs. If the value was changed in place in between, as by an optimizer step
// on a retained graph or a write to a leaf between forward and backward, the gradient would be
// silently wrong (x*x, then x changed from 2 to 100: 200 instead of 4). So, as in PyTorch, every
// value carries a version counter that each in-place write bumps, and a saved Var remembers the
// version it had when it was saved; unpacking it for the backward compares (SavedVar in
// node.hpp, and the same for a saved output in BackwardContext::output()).
// - The counter lives in the buffer (Value), not the Var: a detached Var, a saved output and the
//   Var it belongs to share one buffer, so a write through any of them is seen by all, as
//   PyTorch's detach() shares the version counter.
// - Writes are counted where they are handed out: Value::as_mutable(), hence Var::mutable_value()
//   and the optimizers' in-place updates. Ops never write into their inputs.
// - set_value() does not write, it replaces the buffer; a saved Var would then see the new value.
//   VarImpl::version_offset makes the Var's version one more than before and keeps it counting
//   with the new buffer, so the check is still one comparison. (Comparing buffer addresses
//   instead could be fooled by a new buffer allocated where the old one was.)
// Checks happen when a formula unpacks what it saved, so an input a formula does not need (add
// keeps nothing; mul's own operand when only the other's gradient is wanted) may change freely.
#include "odenet/autodiff/var.hpp"

#include "odenet/autodiff/grad_mode.hpp"
#include "odenet/autodiff/node.hpp"
#include "grad_accumulator.hpp"
#include "var_impl.hpp"

namespace odenet {

namespace {
const Var kUndefined;

VarImpl& checked(const std::shared_ptr<VarImpl>& impl, const char* what) {
    if (!impl) throw GraphError(what, "the Var is undefined (default-constructed, or a gradient that does not exist)");
    return *impl;
}
}  // namespace

Var::Var(Tensor<float> value, bool requires_grad) : Var(Value(std::move(value)), requires_grad) {}
Var::Var(Tensor<double> value, bool requires_grad) : Var(Value(std::move(value)), requires_grad) {}
Var::Var(Value value, bool requires_grad) : impl_(std::make_shared<VarImpl>()) {
    impl_->value = std::move(value);
    impl_->requires_grad = requires_grad;
}
Var::Var(Value value, NodePtr grad_fn) : impl_(std::make_shared<VarImpl>()) {
    impl_->value = std::move(value);
    impl_->requires_grad = static_cast<bool>(grad_fn);
    impl_->grad_fn = std::move(grad_fn);
}

Var Var::scalar(double x, Dtype dtype, bool requires_grad) {
    if (dtype == Dtype::float32) return Var(Tensor<float>(static_cast<float>(x)), requires_grad);
    return Var(Tensor<double>(x), requires_grad);
}

const Value& Var::value() const { return checked(impl_, "Var::value").value; }

template <class T>
Tensor<T>& Var::mutable_value() {
    VarImpl& impl = checked(impl_, "Var::mutable_value");
    if (impl.grad_fn) throw GraphError("Var::mutable_value", "only a leaf's value may be changed in place");
    return impl.value.as_mutable<T>();
}
template Tensor<float>& Var::mutable_value<float>();
template Tensor<double>& Var::mutable_value<double>();

void Var::set_value(Value value) {
    VarImpl& impl = checked(impl_, "Var::set_value");
    if (impl.grad_fn) throw GraphError("Var::set_value", "only a leaf's value may be replaced");
    const std::uint32_t next = version() + 1;
    impl.value = std::move(value);
    impl.version_offset = next - impl.value.version();  // unsigned: wraps as the counters do
}

std::uint32_t Var::version() const { return impl_ ? impl_->value.version() + impl_->version_offset : 0; }

double Var::item() const {
    const Value& v = value();
    if (v.size() != 1) throw ShapeError("Var::item", "needs a one-element Var, got shape " + shape_str(v.shape()));
    return v.visit([](const auto& t) { return static_cast<double>(t.data()[0]); });
}

bool Var::requires_grad() const { return impl_ && impl_->requires_grad; }

Var& Var::set_requires_grad(bool requires_grad) {
    VarImpl& impl = checked(impl_, "Var::set_requires_grad");
    if (impl.grad_fn) throw GraphError("Var::set_requires_grad", "only a leaf's requires_grad can be set; this Var was computed by an op");
    impl.requires_grad = requires_grad;
    return *this;
}

bool Var::is_leaf() const { return !impl_ || !impl_->grad_fn; }

const NodePtr& Var::grad_fn() const {
    static const NodePtr none;
    return impl_ ? impl_->grad_fn : none;
}

const Var& Var::grad() const { return impl_ ? impl_->grad : kUndefined; }
void Var::set_grad(Var grad) { checked(impl_, "Var::set_grad").grad = std::move(grad); }
void Var::zero_grad() {
    if (impl_) impl_->grad = Var();
}

Var Var::detach() const {
    Var d(value(), false);
    d.impl_->version_offset = impl_->version_offset;  // the same version, as it is the same buffer
    return d;
}

NodePtr gradient_edge(const Var& v) {
    if (!v.impl_ || !v.impl_->requires_grad) return NodePtr();
    if (v.impl_->grad_fn) return v.impl_->grad_fn;
    // A leaf: every use shares one accumulator, so the engine sums all uses before touching grad.
    return NodePtr(leaf_accumulator(*v.impl_));
}

}  // namespace odenet
