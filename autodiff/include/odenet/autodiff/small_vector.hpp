#pragma once
// A vector that keeps up to N elements inside itself and moves them all to the heap when it
// grows past N. A node's edges and the gradients its backward returns are one to three Vars
// almost always; with std::vector each cost a heap allocation per recorded op and per backward
// step. T must be default-constructible and movable (unused inline slots hold a default T).
#include <array>
#include <cstddef>
#include <type_traits>
#include <utility>
#include <vector>

namespace odenet {

template <class T, std::size_t N>
class SmallVector {
public:
    SmallVector() = default;
    explicit SmallVector(std::size_t n) { resize(n); }
    /// SmallVector{a, b, ...}: the elements, moved in when given as temporaries (an
    /// initializer_list would copy them, one atomic count update per Var).
    template <class... Us>
        requires(sizeof...(Us) > 0 && (std::is_convertible_v<Us, T> && ...))
    SmallVector(Us&&... xs) {
        reserve(sizeof...(Us));
        (push_back(T(std::forward<Us>(xs))), ...);
    }

    std::size_t size() const { return on_heap_ ? heap_.size() : size_; }
    bool empty() const { return size() == 0; }
    T* data() { return on_heap_ ? heap_.data() : inline_.data(); }
    const T* data() const { return on_heap_ ? heap_.data() : inline_.data(); }
    T* begin() { return data(); }
    T* end() { return data() + size(); }
    const T* begin() const { return data(); }
    const T* end() const { return data() + size(); }
    T& operator[](std::size_t i) { return data()[i]; }
    const T& operator[](std::size_t i) const { return data()[i]; }

    void reserve(std::size_t n) {
        if (n > N) spill(n);
    }
    void push_back(T x) {
        if (on_heap_) {
            heap_.push_back(std::move(x));
        } else if (size_ < N) {
            inline_[size_++] = std::move(x);
        } else {
            spill(2 * N);
            heap_.push_back(std::move(x));
        }
    }
    void resize(std::size_t n) {
        if (!on_heap_ && n <= N) {
            for (std::size_t i = n; i < size_; ++i) inline_[i] = T();  // release what they held
            size_ = n;
            return;
        }
        spill(n);
        heap_.resize(n);
    }

private:
    // Moves the inline elements to the heap (once; later growth is the std::vector's).
    void spill(std::size_t capacity) {
        if (on_heap_) {
            heap_.reserve(capacity);
            return;
        }
        heap_.reserve(capacity);
        for (std::size_t i = 0; i < size_; ++i) heap_.push_back(std::exchange(inline_[i], T()));
        size_ = 0;
        on_heap_ = true;
    }

    std::array<T, N> inline_{};
    std::vector<T> heap_;
    std::size_t size_ = 0;  // elements in inline_ (0 once on the heap)
    bool on_heap_ = false;
};

}  // namespace odenet
