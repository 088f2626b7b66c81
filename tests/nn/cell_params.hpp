#pragma once
// Shared by the recurrent-cell tests: a cell whose parameters are gradcheck's leaves.
#include <cstddef>
#include <vector>

#include "odenet/autodiff/var.hpp"

namespace odenet::testing {

/// Makes the cell's parameters v[first..first+3] (weight_ih, weight_hh, bias_ih, bias_hh) and
/// returns the cell.
template <class Cell>
Cell& with_params(Cell& cell, const std::vector<Var>& v, std::size_t first) {
    cell.weight_ih = v[first];
    cell.weight_hh = v[first + 1];
    cell.bias_ih = v[first + 2];
    cell.bias_hh = v[first + 3];
    return cell;
}

}  // namespace odenet::testing
