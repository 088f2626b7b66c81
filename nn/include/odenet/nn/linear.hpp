#pragma once
// Linear: y = x Wᵀ + b, x (..., in) -> (..., out). W (out, in), b (out). Initialised as PyTorch's
// nn.Linear (see init.hpp), so published hyper-parameters carry over.
#include <cstddef>

#include "odenet/nn/module.hpp"

namespace odenet::nn {

struct LinearOptions {
    bool bias = true;
    Dtype dtype = Dtype::float64;
};

class Linear : public Layer {
public:
    Linear(std::size_t in_features, std::size_t out_features, LinearOptions options = {});
    /// x (..., in) -> (..., out); ShapeError if x's last axis is not in_features, DtypeError if
    /// x's dtype differs from the parameters' (convert the module with to()).
    Var forward(const Var& x) override;

    std::size_t in_features() const { return in_; }
    std::size_t out_features() const { return out_; }

    Var weight;  ///< (out, in)
    Var bias;    ///< (out), undefined without bias

private:
    std::size_t in_, out_;
};

}  // namespace odenet::nn
