#pragma once
// max |x - y| over two Vars of the same shape, in float64 whatever their dtypes: the comparison
// the nn tests make between two ways of computing one thing.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "odenet/autodiff/ops.hpp"
#include "odenet/autodiff/var.hpp"

namespace odenet::test {

inline double max_abs_diff(const Var& x, const Var& y) {
    REQUIRE(x.shape() == y.shape());
    const Var d = to_dtype(x, Dtype::float64) - to_dtype(y, Dtype::float64);  // named: the reference below reads it
    const Tensor<double>& v = d.value<double>();
    double m = 0;
    for (std::size_t i = 0; i < v.size(); ++i) m = std::max(m, std::abs(v.data()[i]));
    return m;
}

}  // namespace odenet::test
