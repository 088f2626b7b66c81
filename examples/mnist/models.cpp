#include "odenet/mnist/models.hpp"

#include <algorithm>

namespace odenet::mnist {

namespace {
constexpr std::size_t kDim = 64;
constexpr std::size_t kResBlocks = 6;
constexpr std::size_t kClasses = 10;
}  // namespace

const char* model_name(ModelKind kind) {
    switch (kind) {
        case ModelKind::odenet: return "odenet";
        case ModelKind::rknet: return "rknet";
        case ModelKind::resnet: return "resnet";
    }
    return "?";
}

ModelKind model_from_name(const std::string& name) {
    for (ModelKind k : {ModelKind::odenet, ModelKind::rknet, ModelKind::resnet}) {
        if (name == model_name(k)) return k;
    }
    throw ValueError("mnist", "unknown model '" + name + "' (expected odenet, rknet or resnet)");
}

std::shared_ptr<nn::GroupNorm> norm(std::size_t channels, Dtype dtype) {
    return std::make_shared<nn::GroupNorm>(std::min<std::size_t>(32, channels), channels,
                                           nn::GroupNormOptions{.dtype = dtype});
}

ODEFunc::ODEFunc(std::size_t dim, Dtype dtype)
    : norm1_(norm(dim, dtype)),
      norm2_(norm(dim, dtype)),
      norm3_(norm(dim, dtype)),
      conv1_(std::make_shared<nn::ConcatConv2d>(dim, dim, 3, nn::Conv2dLayerOptions{.padding = 1, .dtype = dtype})),
      conv2_(std::make_shared<nn::ConcatConv2d>(dim, dim, 3, nn::Conv2dLayerOptions{.padding = 1, .dtype = dtype})) {
    // The reference's construction (and so initialisation) order: norm1, conv1, norm2, conv2, norm3.
    register_module("norm1", norm1_);
    register_module("conv1", conv1_);
    register_module("norm2", norm2_);
    register_module("conv2", conv2_);
    register_module("norm3", norm3_);
}

Var ODEFunc::forward(const Var& t, const Var& x) {
    Var h = (*conv1_)(t, relu((*norm1_)(x)));
    h = (*conv2_)(t, relu((*norm2_)(h)));
    return (*norm3_)(h);
}

ResBlock::ResBlock(std::size_t dim, Dtype dtype)
    : norm1_(norm(dim, dtype)),
      norm2_(norm(dim, dtype)),
      conv1_(std::make_shared<nn::Conv2d>(dim, dim, 3, nn::Conv2dLayerOptions{.padding = 1, .bias = false, .dtype = dtype})),
      conv2_(std::make_shared<nn::Conv2d>(dim, dim, 3, nn::Conv2dLayerOptions{.padding = 1, .bias = false, .dtype = dtype})) {
    register_module("norm1", norm1_);
    register_module("conv1", conv1_);
    register_module("norm2", norm2_);
    register_module("conv2", conv2_);
}

Var ResBlock::forward(const Var& x) {
    Var h = (*conv1_)(relu((*norm1_)(x)));
    h = (*conv2_)(relu((*norm2_)(h)));
    return h + x;
}

Classifier::Classifier(ModelOptions options) : options_(options) {
    const Dtype dt = options.dtype;
    auto conv = [dt](std::size_t in, std::size_t out, std::size_t k, std::size_t stride, std::size_t pad) {
        return std::make_shared<nn::Conv2d>(in, out, k, nn::Conv2dLayerOptions{.stride = stride, .padding = pad, .dtype = dt});
    };
    layers_ = {conv(1, kDim, 3, 1, 0), norm(kDim, dt), std::make_shared<nn::ReLU>(), conv(kDim, kDim, 4, 2, 1),
               norm(kDim, dt),         std::make_shared<nn::ReLU>(), conv(kDim, kDim, 4, 2, 1)};
    if (options.kind == ModelKind::resnet) {
        for (std::size_t i = 0; i < kResBlocks; ++i) layers_.push_back(std::make_shared<ResBlock>(kDim, dt));
    } else {
        block_ = std::make_shared<nn::ODEBlock>(
            std::make_shared<ODEFunc>(kDim, dt),
            nn::ODEBlockOptions{
                .odeint = {.grad = options.kind == ModelKind::odenet ? ode::Grad::adjoint : ode::Grad::direct}});
        layers_.push_back(block_);
        set_tolerance(options.tol);
    }
    layers_.push_back(norm(kDim, dt));
    layers_.push_back(std::make_shared<nn::ReLU>());
    layers_.push_back(std::make_shared<nn::AdaptiveAvgPool2d>(1));
    layers_.push_back(std::make_shared<nn::Flatten>());
    layers_.push_back(std::make_shared<nn::Linear>(kDim, kClasses, nn::LinearOptions{.dtype = dt}));
    for (std::size_t i = 0; i < layers_.size(); ++i) register_module(std::to_string(i), layers_[i]);
    epochs_ = Var(Tensor<double>(0.0));
    register_buffer("epochs_done", epochs_);
}

Var Classifier::forward(const Var& x) {
    Var h = x;
    for (auto& layer : layers_) h = layer->forward(h);
    return h;
}

void Classifier::set_tolerance(double tol) {
    options_.tol = tol;
    if (!block_) return;
    block_->options.odeint.solver.rtol = tol;
    block_->options.odeint.solver.atol = tol;
}

std::size_t Classifier::last_nfe() const { return block_ ? block_->last_nfe() : 0; }
std::size_t Classifier::last_backward_nfe() const { return block_ ? block_->last_backward_nfe() : 0; }

long Classifier::epochs_done() const { return static_cast<long>(epochs_.item()); }
void Classifier::set_epochs_done(long epochs) {
    epochs_.set_value(Value(Tensor<double>(static_cast<double>(epochs))));
}

}  // namespace odenet::mnist
