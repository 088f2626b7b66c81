#pragma once
// Normalisation layers. GroupNorm (Wu & He, 2018) is the ODE-Net's normalisation: it has no
// running state, so the dynamics f(t, h) is the same function in training and evaluation.
// BatchNorm2d (Ioffe & Szegedy, 2015) normalises with batch statistics in training and with
// running estimates in evaluation.
#include <cstddef>

#include "odenet/nn/module.hpp"

namespace odenet::nn {

struct GroupNormOptions {
    double eps = 1e-5;
    bool affine = true;  ///< learnable per-channel weight (init 1) and bias (init 0)
    Dtype dtype = Dtype::float64;
};

class GroupNorm : public Layer {
public:
    /// ValueError unless groups divides channels.
    GroupNorm(std::size_t groups, std::size_t channels, GroupNormOptions options = {});
    /// x (N, C, ...) -> same shape. Uses the group_norm op (ops.hpp).
    Var forward(const Var& x) override;

    Var weight;  ///< (C)
    Var bias;    ///< (C)

private:
    std::size_t groups_, channels_;
    double eps_;
};

struct BatchNormOptions {
    double eps = 1e-5;
    double momentum = 0.1;  ///< running = (1 - momentum) running + momentum batch (PyTorch's convention)
    bool affine = true;
    Dtype dtype = Dtype::float64;
};

class BatchNorm2d : public Layer {
public:
    BatchNorm2d(std::size_t channels, BatchNormOptions options = {});
    /// x (N, C, H, W). Training: normalises with the biased batch variance and updates the running
    /// mean and the unbiased running variance; evaluation: normalises with the running estimates.
    Var forward(const Var& x) override;

    Var weight;        ///< (C), init 1
    Var bias;          ///< (C), init 0
    Var running_mean;  ///< buffer (C), init 0
    Var running_var;   ///< buffer (C), init 1

private:
    std::size_t channels_;
    BatchNormOptions options_;
};

}  // namespace odenet::nn
