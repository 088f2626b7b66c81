#include "odenet/nn/sequential.hpp"

#include <string>

#include "odenet/core/error.hpp"

namespace odenet::nn {

void Sequential::push_back(std::shared_ptr<Layer> layer) {
    if (!layer) throw ValueError("Sequential", "null layer");
    register_module(std::to_string(layers_.size()), layer);
    layers_.push_back(std::move(layer));
}

Var Sequential::forward(const Var& x) {
    Var h = x;
    for (const auto& layer : layers_) h = layer->forward(h);
    return h;
}

}  // namespace odenet::nn
