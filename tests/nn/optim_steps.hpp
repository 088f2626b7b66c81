#pragma once
// Shared by test_rmsprop.cpp and test_adagrad.cpp: a three-entry parameter stepped with fixed
// gradients in either dtype, and the checks that compare it with a float64 reference.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "odenet/nn.hpp"

namespace optim_steps {

using odenet::Tensor;
using odenet::Var;

// The start and each step's gradient. Entries differ in sign and size from step to step, so
// that no buffer is a multiple of one gradient (test_rmsprop.cpp covers a constant gradient
// apart, with closed forms).
inline const std::vector<double> kP0{1.0, -2.0, 0.5};
inline const std::vector<std::vector<double>> kGrads{
    {0.5, -0.25, 2.0}, {0.3, -0.4, -1.5}, {-0.2, 0.1, 1.0}, {0.45, 0.05, -0.7}};

template <class T>
Tensor<T> tensor(const std::vector<double>& x) {
    Tensor<T> t = Tensor<T>::from_shape({x.size()});
    for (std::size_t i = 0; i < x.size(); ++i) t(i) = static_cast<T>(x[i]);
    return t;
}

template <class T>
std::vector<double> values(const Var& p) {
    const Tensor<T>& t = p.value<T>();
    return std::vector<double>(t.begin(), t.end());
}

/// The parameter's values after an Opt(options) stepped over kGrads, starting at kP0, in dtype T.
template <class T, class Opt, class Options>
std::vector<double> run(const Options& options) {
    Var p(tensor<T>(kP0), true);
    Opt opt({p}, options);
    for (const auto& g : kGrads) {
        p.set_grad(Var(tensor<T>(g)));
        opt.step();
    }
    CHECK(p.dtype() == (sizeof(T) == 4 ? odenet::Dtype::float32 : odenet::Dtype::float64));
    return values<T>(p);
}

/// |got - want| <= rel |want| for every entry, reporting the first that is not.
inline void check_relative(const std::vector<double>& got, const std::vector<double>& want, double rel) {
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        INFO("entry " << i << ": got " << got[i] << ", want " << want[i]);
        CHECK(std::abs(got[i] - want[i]) <= rel * std::abs(want[i]));
    }
}

inline void check_absolute(const std::vector<double>& got, const std::vector<double>& want, double tol) {
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        INFO("entry " << i << ": got " << got[i] << ", want " << want[i]);
        CHECK(std::abs(got[i] - want[i]) <= tol);
    }
}

/// The state names after stepping, in order ("lr", "state.0.step", "state.0.<slot>"...).
inline std::vector<std::string> names(const odenet::optim::NamedTensors& state) {
    std::vector<std::string> out;
    for (const auto& [name, value] : state) out.push_back(name);
    return out;
}

/// Checkpoint round trip: two steps, state_dict, a fresh optimizer over a copy of the parameter
/// (built with another lr, which the state restores) loads it; one more step on both gives
/// bit-identical parameters. A third optimizer that skips the load must differ, or the check
/// could not fail.
template <class Opt, class Options>
void check_round_trip(const Options& options) {
    Var p(tensor<double>(kP0), true);
    Opt first({p}, options);
    for (int s = 0; s < 2; ++s) {
        p.set_grad(Var(tensor<double>(kGrads[s])));
        first.step();
    }
    Var q(Tensor<double>(p.value<double>()), true), r(Tensor<double>(p.value<double>()), true);
    Options other = options;
    other.lr = 0.5 * options.lr;
    Opt loaded({q}, other), unloaded({r}, options);
    loaded.load_state_dict(first.state_dict());
    CHECK(loaded.lr() == first.lr());
    for (Var* x : {&p, &q, &r}) x->set_grad(Var(tensor<double>(kGrads[2])));
    first.step();
    loaded.step();
    unloaded.step();
    CHECK(p.value<double>() == q.value<double>());
    CHECK(p.value<double>() != r.value<double>());
}

}  // namespace optim_steps
