#pragma once
// Sequential: layers applied in order, registered under "0", "1", ... as in PyTorch.
#include <memory>
#include <vector>

#include "odenet/nn/module.hpp"

namespace odenet::nn {

class Sequential : public Layer {
public:
    Sequential() = default;
    /// Sequential(std::make_shared<Linear>(2, 64), std::make_shared<Tanh>(), ...)
    template <class... L>
    explicit Sequential(std::shared_ptr<L>... layers) {
        (push_back(std::move(layers)), ...);
    }
    void push_back(std::shared_ptr<Layer> layer);
    /// Constructs a layer in place at the end and returns it.
    template <class L, class... Args>
    L& emplace_back(Args&&... args) {
        auto layer = std::make_shared<L>(std::forward<Args>(args)...);
        L& ref = *layer;
        push_back(std::move(layer));
        return ref;
    }
    Var forward(const Var& x) override;
    std::size_t size() const { return layers_.size(); }
    Layer& operator[](std::size_t i) { return *layers_.at(i); }

private:
    std::vector<std::shared_ptr<Layer>> layers_;
};

}  // namespace odenet::nn
