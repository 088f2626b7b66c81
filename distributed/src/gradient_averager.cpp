#include "odenet/distributed/gradient_averager.hpp"

#include <algorithm>
#include <chrono>
#include <unordered_map>
#include <variant>

#include "mpi_calls.hpp"
#include "odenet/autodiff/engine.hpp"
#include "odenet/core/tensor.hpp"
#include "odenet/distributed/collectives.hpp"

namespace odenet::distributed {

namespace {

// One all-reduce: its parameters' weighted gradients, then the weight, then one flag per parameter
// (Note [Weighted averaging]); all in the parameters' dtype (counts and flags are exact in it).
struct Bucket {
    Dtype dtype = Dtype::float32;
    std::vector<std::size_t> params;   // indices into State::params
    std::vector<std::size_t> offsets;  // where each parameter's gradient starts in the buffer
    std::size_t elements = 0;          // gradient elements; the weight is at [elements]
    std::variant<std::vector<float>, std::vector<double>> buffer;
    std::size_t packed = 0;            // parameters packed this step
    MPI_Request request = MPI_REQUEST_NULL;
    std::string what;                  // how errors name it: "distributed::GradientAverager (bucket k of n)"
};

}  // namespace

struct GradientAverager::State {
    const World& world;
    std::vector<std::pair<std::string, Var>> params;
    AveragerOptions options;
    std::vector<Bucket> buckets;
    std::vector<std::size_t> bucket_of;  // parameter -> bucket
    std::vector<std::size_t> slot_of;    // parameter -> its place in the bucket
    std::vector<char> packed;            // parameter -> packed this step
    std::unordered_map<const VarImpl*, std::size_t> index_of;
    std::size_t next_launch = 0;         // buckets start in index order on every rank
    double weight = 0;
    AveragerStats stats;

    State(const World& w, std::vector<std::pair<std::string, Var>> p, AveragerOptions o)
        : world(w), params(std::move(p)), options(o) {}

    void build_buckets();
    void begin_step(std::size_t examples);
    void pack(std::size_t i);
    void launch_ready();
    void launch(Bucket& b);
    void finish();
    void unpack(Bucket& b);
};

void GradientAverager::State::build_buckets() {
    // Reverse registration order: backward finishes the last layers' gradients first.
    bucket_of.assign(params.size(), 0);
    slot_of.assign(params.size(), 0);
    std::vector<long> open = {-1, -1};  // the bucket being filled, per dtype
    std::vector<std::size_t> open_bytes = {0, 0};
    for (std::size_t k = params.size(); k-- > 0;) {
        const Var& v = params[k].second;
        const int d = v.dtype() == Dtype::float32 ? 0 : 1;
        const std::size_t bytes = v.numel() * (d == 0 ? 4 : 8);
        if (open[d] < 0 || open_bytes[d] + bytes > options.bucket_bytes) {
            buckets.emplace_back();
            buckets.back().dtype = v.dtype();
            open[d] = long(buckets.size() - 1);
            open_bytes[d] = 0;
        }
        Bucket& b = buckets[std::size_t(open[d])];
        slot_of[k] = b.params.size();
        b.params.push_back(k);
        b.offsets.push_back(b.elements);
        b.elements += v.numel();
        open_bytes[d] += bytes;
        bucket_of[k] = std::size_t(open[d]);
    }
    for (Bucket& b : buckets) {
        b.what = "distributed::GradientAverager (bucket " + std::to_string(&b - buckets.data()) + " of " +
                 std::to_string(buckets.size()) + ")";
        const std::size_t n = b.elements + 1 + b.params.size();
        if (b.dtype == Dtype::float32) {
            b.buffer = std::vector<float>(n);
        } else {
            b.buffer = std::vector<double>(n);
        }
    }
}

void GradientAverager::State::begin_step(std::size_t examples) {
    weight = double(examples);
    packed.assign(params.size(), 0);
    next_launch = 0;
    for (Bucket& b : buckets) b.packed = 0;
}

void GradientAverager::State::pack(std::size_t i) {
    if (packed[i]) return;
    packed[i] = 1;
    Bucket& b = buckets[bucket_of[i]];
    const std::size_t slot = slot_of[i];
    const Var& grad = params[i].second.grad();
    std::visit(
        [&](auto& buf) {
            using T = typename std::decay_t<decltype(buf)>::value_type;
            T* out = buf.data() + b.offsets[slot];
            const std::size_t n = params[i].second.numel();
            const bool has = grad.defined() && weight > 0;
            if (has) {
                const T* g = grad.template value<T>().data();
                const T w = T(weight);
                for (std::size_t j = 0; j < n; ++j) out[j] = w * g[j];
            } else {
                std::fill(out, out + n, T(0));
            }
            buf[b.elements + 1 + slot] = has ? T(1) : T(0);
        },
        b.buffer);
    ++b.packed;
}

void GradientAverager::State::launch(Bucket& b) {
    std::visit(
        [&](auto& buf) {
            using T = typename std::decay_t<decltype(buf)>::value_type;
            buf[b.elements] = T(weight);
            detail::check(MPI_Iallreduce(MPI_IN_PLACE, buf.data(), detail::count(buf.size(), b.what),
                                         detail::datatype<T>(), MPI_SUM, MPI_COMM_WORLD, &b.request),
                          b.what);
            stats.bytes += buf.size() * sizeof(T);
        },
        b.buffer);
    ++stats.allreduce_calls;
}

void GradientAverager::State::launch_ready() {
    while (next_launch < buckets.size() && buckets[next_launch].packed == buckets[next_launch].params.size()) {
        launch(buckets[next_launch++]);
    }
    // Polling the started ones lets MPI move their data while backward goes on.
    for (std::size_t k = 0; k < next_launch; ++k) {
        if (buckets[k].request == MPI_REQUEST_NULL) continue;
        int done = 0;
        detail::check(MPI_Test(&buckets[k].request, &done, MPI_STATUS_IGNORE), buckets[k].what);
    }
}

void GradientAverager::State::unpack(Bucket& b) {
    std::visit(
        [&](auto& buf) {
            using T = typename std::decay_t<decltype(buf)>::value_type;
            const double total = double(buf[b.elements]);
            if (!(total > 0)) {
                throw ValueError("distributed::GradientAverager",
                                 "no rank had an example this step (the summed example count is " +
                                     std::to_string(total) + ")");
            }
            for (std::size_t slot = 0; slot < b.params.size(); ++slot) {
                Var& p = params[b.params[slot]].second;
                if (buf[b.elements + 1 + slot] == T(0)) {
                    p.set_grad(Var());  // no rank had a gradient: none, as in one process
                    continue;
                }
                Tensor<T> g = xt::empty<T>(p.shape());
                const T* in = buf.data() + b.offsets[slot];
                for (std::size_t j = 0; j < g.size(); ++j) g.data()[j] = in[j] / T(total);
                p.set_grad(Var(std::move(g)));
            }
        },
        b.buffer);
}

void GradientAverager::State::finish() {
    for (std::size_t i = 0; i < params.size(); ++i) pack(i);  // parameters backward never reached
    launch_ready();
    const auto t0 = std::chrono::steady_clock::now();
    for (Bucket& b : buckets) detail::wait(world, b.request, b.what);
    stats.wait_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (Bucket& b : buckets) unpack(b);
    ++stats.steps;
}

GradientAverager::GradientAverager(const World& world, std::vector<std::pair<std::string, Var>> parameters,
                                   AveragerOptions options)
    : s_(std::make_unique<State>(world, std::move(parameters), options)) {
    const char* where = "distributed::GradientAverager";
    if (s_->params.empty()) throw ValueError(where, "no parameters to average");
    if (options.bucket_bytes == 0) throw ValueError(where, "bucket_bytes is 0; it must be at least 1");
    check_same(world, detail::layout(s_->params, where), std::string(where) + ": the parameters");
    for (std::size_t i = 0; i < s_->params.size(); ++i) s_->index_of.emplace(s_->params[i].second.impl(), i);
    // Ranks that start from different weights would each train their own model, averaging
    // gradients taken at different points, and nothing else would notice.
    std::string values;
    for (const auto& [name, v] : s_->params) {
        const std::uint64_t h = v.value().visit(
            [](const auto& t) { return detail::fingerprint(t.data(), t.size() * sizeof(*t.data())); });
        values += name + " (values " + std::to_string(h) + "); ";
    }
    check_same(world, values,
               std::string(where) + ": the parameters' values (every rank must start from rank 0's weights: "
                                    "call distributed::broadcast_module first)");
    s_->build_buckets();
}

GradientAverager::~GradientAverager() = default;

void GradientAverager::backward(const Var& loss, std::size_t examples) {
    if (examples == 0) {
        throw ValueError("distributed::GradientAverager::backward",
                         "examples is 0 with a loss; a rank without examples calls skip_backward()");
    }
    s_->begin_step(examples);
    if (s_->options.overlap) {
        odenet::backward(loss, Var(), {.on_leaf_done = [this](const VarImpl* leaf) {
                                           auto it = s_->index_of.find(leaf);
                                           if (it == s_->index_of.end()) return;
                                           s_->pack(it->second);
                                           s_->launch_ready();
                                       }});
        s_->stats.started_during_backward += s_->next_launch;
    } else {
        odenet::backward(loss);
    }
    s_->finish();
}

void GradientAverager::skip_backward() {
    s_->begin_step(0);
    s_->finish();
}

void GradientAverager::average(std::size_t examples) {
    s_->begin_step(examples);
    s_->finish();
}

std::size_t GradientAverager::bucket_count() const { return s_->buckets.size(); }

std::vector<std::vector<std::string>> GradientAverager::buckets() const {
    std::vector<std::vector<std::string>> out;
    for (const Bucket& b : s_->buckets) {
        out.emplace_back();
        for (std::size_t i : b.params) out.back().push_back(s_->params[i].first);
    }
    return out;
}

const AveragerStats& GradientAverager::stats() const { return s_->stats; }

}  // namespace odenet::distributed
