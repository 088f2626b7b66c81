#pragma once
// The three classifiers of the Neural ODE paper's Table 1 (Chen et al., 2018), as its code builds
// them (torchdiffeq examples/odenet_mnist.py, downsampling method "conv"):
//
//   downsampling  Conv2d(1, 64, 3), GN, ReLU, Conv2d(64, 64, 4, stride 2, pad 1), GN, ReLU,
//                 Conv2d(64, 64, 4, stride 2, pad 1)                     28x28 -> 26 -> 13 -> 6
//   feature       odenet: ODEBlock(ODEFunc), dopri5 at rtol = atol = tol, adjoint gradients
//                 rknet:  the same block, gradients by backprop through the solver's stages
//                 resnet: six ResBlocks
//   head          GN, ReLU, AdaptiveAvgPool2d(1), Flatten, Linear(64, 10)
//
// GN is GroupNorm(min(32, C), C). The layers are registered under "0", "1", ... in this order, as
// the reference's nn.Sequential, so parameter names match PyTorch's state dict ("0.weight", ...,
// "7.dynamics.conv1.layer.weight" where PyTorch has "7.odefunc.conv1._layer.weight").
// Parameter counts: ODE-Net and RK-Net 208,266; ResNet 576,778 (tests/examples/test_mnist.cpp).
#include <cstddef>
#include <memory>
#include <string>

#include "odenet/nn.hpp"

namespace odenet::mnist {

enum class ModelKind { odenet, rknet, resnet };
const char* model_name(ModelKind kind);
/// "odenet", "rknet", "resnet"; ValueError listing them otherwise.
ModelKind model_from_name(const std::string& name);

/// GroupNorm(min(32, C), C), the reference's norm().
std::shared_ptr<nn::GroupNorm> norm(std::size_t channels, Dtype dtype);

/// The ODE block's dynamics: GN, ReLU, ConcatConv2d 3x3, GN, ReLU, ConcatConv2d 3x3, GN.
class ODEFunc : public nn::TimeLayer {
public:
    ODEFunc(std::size_t dim, Dtype dtype);
    Var forward(const Var& t, const Var& x) override;

private:
    std::shared_ptr<nn::GroupNorm> norm1_, norm2_, norm3_;
    std::shared_ptr<nn::ConcatConv2d> conv1_, conv2_;
};

/// Pre-activation residual block (He et al., 2016): x + conv2(relu(gn2(conv1(relu(gn1(x)))))),
/// 3x3 convolutions without bias, identity shortcut.
class ResBlock : public nn::Layer {
public:
    ResBlock(std::size_t dim, Dtype dtype);
    Var forward(const Var& x) override;

private:
    std::shared_ptr<nn::GroupNorm> norm1_, norm2_;
    std::shared_ptr<nn::Conv2d> conv1_, conv2_;
};

struct ModelOptions {
    ModelKind kind = ModelKind::odenet;
    double tol = 1e-3;  ///< dopri5 rtol = atol (odenet, rknet)
    Dtype dtype = Dtype::float32;
};

/// The whole classifier: (N, 1, 28, 28) in [0, 1] -> logits (N, 10).
class Classifier : public nn::Layer {
public:
    explicit Classifier(ModelOptions options);
    Var forward(const Var& x) override;

    ModelKind kind() const { return options_.kind; }
    /// The ODE block (odenet, rknet), nullptr for the ResNet.
    nn::ODEBlock* ode_block() { return block_.get(); }
    /// Sets the solver tolerance (rtol = atol) of the ODE block, forward and adjoint.
    void set_tolerance(double tol);
    /// Function evaluations of the last forward solve and of the last backward pass (0 for ResNet;
    /// 0 backward for RK-Net, whose backward runs through the recorded stages).
    std::size_t last_nfe() const;
    std::size_t last_backward_nfe() const;

    /// Completed training epochs: a buffer, so a checkpoint carries it (as PyTorch's BatchNorm
    /// keeps num_batches_tracked).
    long epochs_done() const;
    void set_epochs_done(long epochs);

private:
    ModelOptions options_;
    std::shared_ptr<nn::ODEBlock> block_;
    std::vector<std::shared_ptr<nn::Layer>> layers_;
    Var epochs_;
};

}  // namespace odenet::mnist
