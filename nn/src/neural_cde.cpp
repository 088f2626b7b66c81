#include "odenet/nn/neural_cde.hpp"

#include <algorithm>
#include <string>

#include "odenet/autodiff/ops.hpp"
#include "odenet/core/error.hpp"
#include "odenet/nn/odeint.hpp"

namespace odenet::nn {

namespace {
std::string shape_text(const Shape& s) {
    std::string out = "(";
    for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
    return out + (s.size() == 1 ? ",)" : ")");
}
// f(z) X'(t): one (hidden x channels) by (channels) product per sample.
Var field_times_derivative(Layer& field, const CubicPath& X, std::size_t hidden, std::size_t channels, const Var& t,
                           const Var& z) {
    const Var F = field.forward(z);
    const std::size_t batch = z.shape()[0];
    if (F.shape() != Shape{batch, hidden * channels})
        throw ShapeError("NeuralCDE", "the field returned shape " + shape_text(F.shape()) + " for a state of shape " +
                                          shape_text(z.shape()) + "; it must return (batch, hidden·channels) = " +
                                          shape_text(Shape{batch, hidden * channels}));
    const Var dX = reshape(X.derivative(t), {batch, 1, channels});
    return sum(reshape(F, {batch, hidden, channels}) * dX, {2});
}

}  // namespace

NeuralCDE::NeuralCDE(std::shared_ptr<Layer> field_, std::size_t channels, std::size_t hidden, NeuralCDEOptions options_)
    : options(std::move(options_)), field(std::move(field_)), channels_(channels), hidden_(hidden) {
    if (!field) throw ValueError("NeuralCDE", "the field module is null");
    if (channels == 0 || hidden == 0)
        throw ValueError("NeuralCDE", "channels and hidden must be > 0, got " + std::to_string(channels) + " and " +
                                          std::to_string(hidden));
    initial = std::make_shared<Linear>(channels, hidden, LinearOptions{.dtype = options.dtype});
    register_module("field", field);
    register_module("initial", initial);
}

void NeuralCDE::check_path(const CubicPath& X) const {
    if (X.channels() != channels_)
        throw ShapeError("NeuralCDE", "the path has " + std::to_string(X.channels()) + " channels, the layer was built for " +
                                          std::to_string(channels_));
    if (X.dtype() != initial->weight.dtype())
        throw DtypeError("NeuralCDE", std::string("the path is ") + dtype_name(X.dtype()) + " and the layer's ζ is " +
                                          dtype_name(initial->weight.dtype()) + "; convert one (Module::to)");
}

Var NeuralCDE::vector_field(const CubicPath& X, const Var& t, const Var& z) {
    return field_times_derivative(*field, X, hidden_, channels_, t, z);
}

ode::OdeintSolution NeuralCDE::trajectory(const CubicPath& X, const Var& ts) {
    check_path(X);
    if (ts.dim() != 1 || ts.numel() == 0)
        throw ShapeError("NeuralCDE", "ts must be 1-D and not empty, got shape " + shape_text(ts.shape()));
    if (ts.dtype() != Dtype::float64) throw DtypeError("NeuralCDE", "ts must be float64 (odeint's times)");
    const Tensor<double>& times = ts.value<double>();
    for (std::size_t i = 0; i < times.size(); ++i) {
        if (!(times(i) >= X.t0() && times(i) <= X.t1()))
            throw ValueError("NeuralCDE", "output time " + std::to_string(times(i)) + " is outside the path's [" +
                                              std::to_string(X.t0()) + ", " + std::to_string(X.t1()) + "]");
        if (i > 0 && !(times(i) > times(i - 1)))  // the data drive z forwards; a CDE read backwards is another model
            throw ValueError("NeuralCDE", "output times must be strictly increasing, got ts[" + std::to_string(i) +
                                              "] = " + std::to_string(times(i)) + " after " + std::to_string(times(i - 1)));
    }
    const Var z0 = initial->forward(X.evaluate(times(0)));

    ode::OdeintOptions opt = options.odeint;
    if (options.stop_at_knots) {
        std::vector<double>& jumps = opt.solver.jump_times;
        jumps.insert(jumps.end(), X.knots().begin(), X.knots().end());
    }
    // The field's parameters, and the path's coefficients when they carry gradients to the data.
    ParameterList params = parameter_list(*field);
    for (std::string& name : params.names) name = "field." + name;  // as named_parameters() names them
    const char* coefficient_names[] = {"path coefficient a", "path coefficient b", "path coefficient c",
                                       "path coefficient d"};
    const Var* coefficients[] = {&X.a(), &X.b(), &X.c(), &X.d()};
    for (int i = 0; i < 4; ++i) {
        if (!coefficients[i]->requires_grad()) continue;
        params.vars.push_back(*coefficients[i]);
        params.names.push_back(coefficient_names[i]);
    }
    // The graph keeps the field alive through this copy of the pointer, and the path by value.
    const ode::Dynamics f = [field = field, X, hidden = hidden_, channels = channels_](const Var& t, const Var& z) {
        return field_times_derivative(*field, X, hidden, channels, t, z);
    };
    ode::OdeintSolution sol = ode::detail::odeint_named(f, z0, ts, params.vars, params.names, opt);
    last_ = sol;
    last_->ys = Var();  // the statistics only: holding ys would keep the whole graph alive
    return sol;
}

Var NeuralCDE::forward(const CubicPath& X) {
    const Var ys = trajectory(X, Var(Tensor<double>{X.t0(), X.t1()})).ys;
    return reshape(index_select(ys, 0, {1}), {ys.shape()[1], hidden_});
}

}  // namespace odenet::nn
