#include "odenet/nn/linear.hpp"

#include "odenet/autodiff/ops.hpp"
#include "odenet/core/error.hpp"
#include "odenet/nn/init.hpp"

namespace odenet::nn {

Linear::Linear(std::size_t in_features, std::size_t out_features, LinearOptions options)
    : in_(in_features), out_(out_features) {
    if (in_ == 0 || out_ == 0) throw ValueError("Linear", "features must be positive");
    weight = zeros({out_, in_}, options.dtype);
    if (options.bias) bias = zeros({out_}, options.dtype);
    init::default_linear_init(weight, &bias);
    register_parameter("weight", weight);
    if (options.bias) register_parameter("bias", bias);
}

Var Linear::forward(const Var& x) {
    if (x.dim() == 0 || x.shape().back() != in_) {
        throw ShapeError("Linear", "input " + shape_str(x.shape()) + " does not end in in_features = " +
                                       std::to_string(in_));
    }
    // One GEMM with Wᵀ read transposed in place (no copy) for the usual (N, in) batch.
    Var y = x.dim() == 2 ? gemm(x, weight, false, true) : matmul(x, transpose(weight));
    return bias.defined() ? y + bias : y;
}

}  // namespace odenet::nn
