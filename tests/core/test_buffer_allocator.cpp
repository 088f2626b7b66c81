// BufferAllocator: aligned blocks of every size, recycled on the thread that frees them, and
// correct when a block is freed on another thread than the one that allocated it. See
// Note [Buffer cache] in core/src/buffer_allocator.cpp.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include <xtensor/xbuilder.hpp>

#include "odenet/core/buffer_allocator.hpp"
#include "odenet/core/tensor.hpp"

using namespace odenet;

TEST_CASE("buffers are aligned and whole at every size, including 0 and beyond the cache") {
    for (std::size_t bytes : {0, 1, 63, 64, 65, 1000, 4096, 65535, 65536, 65537, 1 << 20}) {
        void* p = detail::buffer_allocate(bytes);
        REQUIRE(p != nullptr);
        CHECK(reinterpret_cast<std::uintptr_t>(p) % kBufferAlignment == 0);
        std::memset(p, 0xab, bytes);  // the sanitizer build reports a block shorter than asked
        detail::buffer_deallocate(p, bytes);
    }
}

TEST_CASE("a freed block is reused by the next request of its size class on the same thread") {
    void* p = detail::buffer_allocate(100);
    detail::buffer_deallocate(p, 100);
    void* q = detail::buffer_allocate(128);  // 65..128 bytes share a class
    CHECK(q == p);
    detail::buffer_deallocate(q, 128);
}

TEST_CASE("tensors may be freed on another thread than the one that allocated them") {
    // Made on a thread that then exits (its cache is emptied), freed here.
    std::vector<Tensor<float>> made;
    std::thread producer([&made] {
        for (std::size_t i = 0; i < 2000; ++i) made.push_back(xt::ones<float>({1 + i % 700}));
    });
    producer.join();
    double total = 0;
    for (const auto& t : made) total += t.size() == 0 ? 0 : t.data()[t.size() - 1];
    CHECK(total == 2000.0);
    made.clear();

    // Made here, freed on a thread that then exits; this thread's cache stays consistent.
    std::vector<Tensor<double>> here;
    for (std::size_t i = 0; i < 2000; ++i) here.push_back(xt::zeros<double>({1 + i % 700}));
    std::thread consumer([v = std::move(here)]() mutable { v.clear(); });
    consumer.join();
    Tensor<double> t = xt::ones<double>({300});
    CHECK(t(299) == 1.0);
}
