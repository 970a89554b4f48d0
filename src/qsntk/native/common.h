// Shared by the native kernels: SIMD vector types and the sharing of work items between the
// calling thread and XLA's intra-op thread pool.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <utility>

#include "xla/ffi/api/ffi.h"

namespace qsntk_native {

// 32-byte SIMD vectors (GCC/Clang vector extensions), loaded and stored unaligned
typedef double d4 __attribute__((vector_size(32), aligned(8)));
typedef float f8 __attribute__((vector_size(32), aligned(4)));
template <typename T> struct Simd;
template <> struct Simd<double> { using v = d4; static constexpr int W = 4; };
template <> struct Simd<float> { using v = f8; static constexpr int W = 8; };

// work(k, scratch) for k = 0 .. count-1, the items claimed one at a time from an atomic counter
// by the calling thread and by `helpers` tasks on XLA's pool (at most count - 1); each thread
// has its own default-constructed Scratch. Returns when every item is done. Own threads would
// compete with the pool's spinning workers (1.6x slower measured for the QNTK sweep). Tasks hold
// the queue by shared_ptr: one that starts after the caller has returned finds no item left and
// calls nothing.
template <typename Scratch, typename F>
void share(xla::ffi::ThreadPool& pool, int64_t count, int64_t helpers, F work) {
  struct Queue {
    std::atomic<int64_t> next{0};
    std::atomic<int> active{0};
    int64_t count;
    F work;
    Queue(int64_t c, F w) : count(c), work(std::move(w)) {}
    void drain() {
      active.fetch_add(1);
      Scratch scratch;
      for (int64_t k; (k = next.fetch_add(1)) < count;) work(k, scratch);
      active.fetch_sub(1);
    }
  };
  auto q = std::make_shared<Queue>(count, std::move(work));
  helpers = std::max<int64_t>(0, std::min<int64_t>(helpers, count - 1));
  for (int64_t t = 0; t < helpers; ++t) pool.Schedule([q] { q->drain(); });
  q->drain();
  while (q->active.load() > 0) std::this_thread::yield();
}

}  // namespace qsntk_native
