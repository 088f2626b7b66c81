#include "odenet/distributed/collectives.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "mpi_calls.hpp"
#include "odenet/core/tensor.hpp"

namespace odenet::distributed {

namespace {

std::vector<double> reduce(const World& world, std::vector<double> values, MPI_Op op, const std::string& what) {
    MPI_Request request;
    detail::check(MPI_Iallreduce(MPI_IN_PLACE, values.data(), detail::count(values.size(), what), MPI_DOUBLE, op, MPI_COMM_WORLD,
                                 &request),
                  what);
    detail::wait(world, request, what);
    return values;
}

// Descriptions are lists of "; "-separated entries; the first entry that differs, or the whole.
std::string first_difference(const std::string& mine, const std::string& root) {
    std::size_t a = 0, b = 0;
    while (a < mine.size() && b < root.size()) {
        const std::size_t ea = std::min(mine.find("; ", a), mine.size()), eb = std::min(root.find("; ", b), root.size());
        if (mine.compare(a, ea - a, root, b, eb - b) != 0) {
            return "'" + mine.substr(a, ea - a) + "' where rank 0 has '" + root.substr(b, eb - b) + "'";
        }
        a = ea + 2;
        b = eb + 2;
    }
    if (a < mine.size()) return "'" + mine.substr(a) + "' where rank 0 has nothing more";
    return "nothing where rank 0 has '" + root.substr(b) + "'";
}

template <class T>
void broadcast_dtype(const World& world, const std::vector<std::pair<std::string, Var>>& tensors,
                     const std::string& what) {
    std::size_t total = 0;
    for (const auto& [name, v] : tensors) {
        if (v.dtype() == dtype_of<T>()) total += v.numel();
    }
    if (total == 0) return;
    std::vector<T> flat(total);
    if (world.is_root()) {
        std::size_t at = 0;
        for (const auto& [name, v] : tensors) {
            if (v.dtype() != dtype_of<T>()) continue;
            std::memcpy(flat.data() + at, v.template value<T>().data(), v.numel() * sizeof(T));
            at += v.numel();
        }
    }
    MPI_Request request;
    detail::check(MPI_Ibcast(flat.data(), detail::count(total, what), detail::datatype<T>(), 0, MPI_COMM_WORLD, &request), what);
    detail::wait(world, request, what);
    if (world.is_root()) return;
    std::size_t at = 0;
    for (const auto& [name, v] : tensors) {
        if (v.dtype() != dtype_of<T>()) continue;
        Var handle = v;  // a handle on the caller's variable: writing through it updates theirs
        std::memcpy(handle.template mutable_value<T>().data(), flat.data() + at, v.numel() * sizeof(T));
        at += v.numel();
    }
}

}  // namespace

std::vector<double> sum(const World& world, std::vector<double> values, const std::string& what) {
    return reduce(world, std::move(values), MPI_SUM, what);
}

double sum(const World& world, double value, const std::string& what) {
    return reduce(world, {value}, MPI_SUM, what)[0];
}

std::vector<double> max(const World& world, std::vector<double> values, const std::string& what) {
    return reduce(world, std::move(values), MPI_MAX, what);
}

void check_same(const World& world, const std::string& description, const std::string& what) {
    if (world.size() == 1) return;
    // Both halves of the 64-bit fingerprint, as exact doubles: min == max on every rank iff equal.
    const std::uint64_t h = detail::fingerprint(description.data(), description.size());
    const double hi = double(h >> 32), lo = double(h & 0xffffffffu);
    const auto top = max(world, {hi, lo, -hi, -lo}, what);
    if (top[0] == -top[2] && top[1] == -top[3]) return;
    // Tell the user which rank differs and from what: rank 0's text, gathered by its length first.
    std::vector<char> root_text(description.begin(), description.end());
    double length = world.is_root() ? double(description.size()) : 0.0;
    length = sum(world, length, what);
    root_text.resize(std::size_t(length));
    MPI_Request request;
    detail::check(MPI_Ibcast(root_text.data(), detail::count(std::size_t(length), what), MPI_CHAR, 0, MPI_COMM_WORLD, &request), what);
    detail::wait(world, request, what);
    const std::string root(root_text.begin(), root_text.end());
    if (root == description) {
        throw ValueError(what, "another rank differs from rank 0 (" + world.name() + "); its own error names the difference");
    }
    throw ValueError(what, world.name() + " differs from rank 0: " + first_difference(description, root));
}

void broadcast(const World& world, const std::vector<std::pair<std::string, Var>>& tensors, const std::string& what) {
    check_same(world, detail::layout(tensors, what), what);
    if (world.size() == 1) return;
    broadcast_dtype<float>(world, tensors, what);
    broadcast_dtype<double>(world, tensors, what);
}

void broadcast_module(const World& world, nn::Module& module) {
    auto tensors = module.named_parameters();
    for (auto& b : module.named_buffers()) tensors.push_back(std::move(b));
    broadcast(world, tensors, "distributed::broadcast_module");
}

}  // namespace odenet::distributed
