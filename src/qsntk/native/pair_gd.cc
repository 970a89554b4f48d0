// Fused CPU kernel for qsntk.dynamics.ensemble.structured_gd_fn: full-batch gradient-descent
// steps of G independent one-hidden-layer ReLU networks on the same inputs (the paper's pairs:
// G = 2E networks, the real parts then the imaginary parts of E members).
//
// Per network, with xa = [a x, c] (n x d1 rows, d1 = d + 1), Wa = [W1; b1] (d1 x N):
//
//   z = xa Wa,  f_r = s sum_j relu(z_rj) w2_j + c b2,  delta_r = (2/n)(f_r - y_r),
//   gA = sum_r [xa_r delta_r] (x) 1[z_r > 0],  g2 = s sum_r delta_r relu(z_r),  gb2 = c sum_r delta_r,
//   W1 <- W1 - eta s w2 . gA[:d],  b1 <- b1 - eta s w2 . gA[d],  w2 <- w2 - eta g2,  b2 <- b2 - eta gb2
//
// (the docstring of structured_gd_fn has the derivation). The rows are taken R at a time: one
// pass forms z of the R rows (a thin GEMM, K = d1) into a buffer that stays in L2, a light
// pass gives f and delta, and a second pass accumulates gA and g2 from the same buffer, so z
// never goes to memory. Networks are claimed one at a time by the calling thread and by tasks
// on XLA's intra-op thread pool; each runs all its steps before the next network.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "common.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

template <typename T>
using PSimd = qsntk_native::Simd<T>;

constexpr int R = 18;               // rows per pass: z of R rows x N (360 KB at N = 5000, f32),
                                    // three six-row blocks; with Wa and gA it fits a 1 MiB L2

template <typename T>
struct Net {                        // one network's buffers, padded to Np = a multiple of 2W
  int d1, N, Np;
  std::vector<T> Wa, gA, w2, g2, z;
  void size(int d1_, int N_) {
    d1 = d1_; N = N_;
    constexpr int W2 = 2 * PSimd<T>::W;
    Np = (N + W2 - 1) / W2 * W2;
    Wa.assign((size_t)d1 * Np, T(0)); gA.assign((size_t)d1 * Np, T(0));
    w2.assign(Np, T(0)); g2.assign(Np, T(0)); z.assign((size_t)R * Np, T(0));
  }
};

// z[r][:] = sum_k xa[r][k] Wa[k][:] for rows r < nr (<= R). The micro-kernel is six rows times
// two vectors: twelve accumulators, the two Wa vectors of a k pinned in registers (the empty asm
// keeps the compiler from re-loading them as memory operands of every FMA, which made the
// loop load-bound: 12 loads per 8 FMAs with four rows) and one broadcast, 15 of the 16 registers.
template <typename T, int MR>
__attribute__((always_inline)) inline void forward_block(const T* __restrict x0, int d1, const T* __restrict Wa, T* __restrict z,
                          int Np, int j) {
  using V = typename PSimd<T>::v;
  constexpr int W = PSimd<T>::W;
  V a[MR][2];
  for (int r = 0; r < MR; ++r) a[r][0] = a[r][1] = V{};
  for (int k = 0; k < d1; ++k) {
    V w0 = *(const V*)(Wa + (size_t)k * Np + j), w1 = *(const V*)(Wa + (size_t)k * Np + j + W);
    asm("" : "+x"(w0), "+x"(w1));
    for (int r = 0; r < MR; ++r) {
      const T c = x0[(size_t)r * d1 + k];
      a[r][0] += c * w0;
      a[r][1] += c * w1;
    }
  }
  for (int r = 0; r < MR; ++r) {
    *(V*)(z + (size_t)r * Np + j) = a[r][0];
    *(V*)(z + (size_t)r * Np + j + W) = a[r][1];
  }
}

template <typename T>
__attribute__((noinline)) void forward_rows(const T* __restrict xa, int d1, int nr,
                                            const T* __restrict Wa, T* __restrict z, int Np) {
  constexpr int W2 = 2 * PSimd<T>::W;
  int r = 0;
  for (; r + 6 <= nr; r += 6)
    for (int j = 0; j < Np; j += W2)
      forward_block<T, 6>(xa + (size_t)r * d1, d1, Wa, z + (size_t)r * Np, Np, j);
  for (; r + 2 <= nr; r += 2)
    for (int j = 0; j < Np; j += W2)
      forward_block<T, 2>(xa + (size_t)r * d1, d1, Wa, z + (size_t)r * Np, Np, j);
  for (; r < nr; ++r)
    for (int j = 0; j < Np; j += W2)
      forward_block<T, 1>(xa + (size_t)r * d1, d1, Wa, z + (size_t)r * Np, Np, j);
}

// gA[k][:] += sum_r xd[r][k] 1[z[r] > 0] for k in [k0, k0 + NK); G2: also
// g2[:] += sum_r delta[r] relu(z[r]). Two vectors of columns at a time: 2 NK accumulators
// (+ 2 for g2), the two masks and a broadcast stay in registers (NK <= 6, or 5 with G2).
template <typename T, int NK, bool G2>
__attribute__((noinline)) void backward_rows(const T* __restrict xd, int d1, int k0,
                                             const T* __restrict delta, int nr,
                                             const T* __restrict z, int Np, T* __restrict gA,
                                             T* __restrict g2) {
  static_assert(2 * NK + (G2 ? 2 : 0) <= 12, "accumulators must fit the registers");
  using V = typename PSimd<T>::v;
  constexpr int W = PSimd<T>::W;
  const V zero = {}, one = zero + T(1);
  for (int j = 0; j < Np; j += 2 * W) {
    V a0[NK > 0 ? NK : 1], a1[NK > 0 ? NK : 1];
    for (int k = 0; k < NK; ++k) a0[k] = a1[k] = zero;
    V g0 = zero, g1 = zero;
    for (int r = 0; r < nr; ++r) {
      const V z0 = *(const V*)(z + (size_t)r * Np + j), z1 = *(const V*)(z + (size_t)r * Np + j + W);
      const V m0 = z0 > zero ? one : zero, m1 = z1 > zero ? one : zero;
      const T* x = xd + (size_t)r * d1 + k0;
      for (int k = 0; k < NK; ++k) {
        a0[k] += x[k] * m0;
        a1[k] += x[k] * m1;
      }
      if (G2) {
        g0 += delta[r] * (z0 > zero ? z0 : zero);
        g1 += delta[r] * (z1 > zero ? z1 : zero);
      }
    }
    for (int k = 0; k < NK; ++k) {
      *(V*)(gA + (size_t)(k0 + k) * Np + j) += a0[k];
      *(V*)(gA + (size_t)(k0 + k) * Np + j + W) += a1[k];
    }
    if (G2) {
      *(V*)(g2 + j) += g0;
      *(V*)(g2 + j + W) += g1;
    }
  }
}

template <typename T, bool G2>
void backward_group(const T* xd, int d1, int k0, int nk, const T* delta, int nr, const T* z,
                    int Np, T* gA, T* g2) {
  switch (nk) {
    case 0: return backward_rows<T, 0, G2>(xd, d1, k0, delta, nr, z, Np, gA, g2);
    case 1: return backward_rows<T, 1, G2>(xd, d1, k0, delta, nr, z, Np, gA, g2);
    case 2: return backward_rows<T, 2, G2>(xd, d1, k0, delta, nr, z, Np, gA, g2);
    case 3: return backward_rows<T, 3, G2>(xd, d1, k0, delta, nr, z, Np, gA, g2);
    case 4: return backward_rows<T, 4, G2>(xd, d1, k0, delta, nr, z, Np, gA, g2);
    default: return backward_rows<T, 5, G2>(xd, d1, k0, delta, nr, z, Np, gA, g2);
  }
}

// all d1 rows of gA and g2 from the R rows' z: groups of six k, the last (<= 5 k) with g2
template <typename T>
void backward(const T* xd, int d1, const T* delta, int nr, const T* z, int Np, T* gA, T* g2) {
  int k0 = 0;
  for (; d1 - k0 > 5; k0 += 6)
    backward_rows<T, 6, false>(xd, d1, k0, delta, nr, z, Np, gA, g2);
  backward_group<T, true>(xd, d1, k0, d1 - k0, delta, nr, z, Np, gA, g2);
}

// sum_j relu(z[j]) w2[j] over one padded row
template <typename T>
inline T readout(const T* __restrict z, const T* __restrict w2, int Np) {
  using V = typename PSimd<T>::v;
  constexpr int W = PSimd<T>::W;
  const V zero = {};
  V a0 = zero, a1 = zero;
  for (int j = 0; j < Np; j += 2 * W) {
    const V z0 = *(const V*)(z + j), z1 = *(const V*)(z + j + W);
    a0 += (z0 > zero ? z0 : zero) * *(const V*)(w2 + j);
    a1 += (z1 > zero ? z1 : zero) * *(const V*)(w2 + j + W);
  }
  a0 += a1;
  T out = 0;
  for (int b = 0; b < W; ++b) out += a0[b];
  return out;
}

template <typename T>
void net_steps(Net<T>& nb, const T* xa, int n, int d, const T* y, T* W1, T* b1, T* w2, T* b2,
               int64_t steps, T eta, T s, T c) {
  const int d1 = d + 1, N = nb.N, Np = nb.Np;
  for (int k = 0; k < d; ++k) std::memcpy(&nb.Wa[(size_t)k * Np], W1 + (size_t)k * N, N * sizeof(T));
  std::memcpy(&nb.Wa[(size_t)d * Np], b1, N * sizeof(T));
  std::memcpy(nb.w2.data(), w2, N * sizeof(T));
  T bias2 = *b2;
  std::vector<T> delta(R), xd((size_t)R * d1);
  const T two_n = T(2) / T(n);
  for (int64_t t = 0; t < steps; ++t) {
    std::fill(nb.gA.begin(), nb.gA.end(), T(0));
    std::fill(nb.g2.begin(), nb.g2.end(), T(0));
    T gb2 = 0;
    for (int r0 = 0; r0 < n; r0 += R) {
      const int nr = std::min(R, n - r0);
      const T* xr = xa + (size_t)r0 * d1;
      forward_rows<T>(xr, d1, nr, nb.Wa.data(), nb.z.data(), Np);
      for (int r = 0; r < nr; ++r) {
        const T f = readout<T>(nb.z.data() + (size_t)r * Np, nb.w2.data(), Np);
        const T dl = two_n * (s * f + c * bias2 - y[r0 + r]);
        delta[r] = dl;
        gb2 += c * dl;
        for (int k = 0; k < d1; ++k) xd[(size_t)r * d1 + k] = xr[(size_t)r * d1 + k] * dl;
      }
      backward<T>(xd.data(), d1, delta.data(), nr, nb.z.data(), Np, nb.gA.data(), nb.g2.data());
    }
    // all gradients from the old parameters, then the update
    for (int k = 0; k < d1; ++k) {
      T* wk = &nb.Wa[(size_t)k * Np];
      const T* gk = &nb.gA[(size_t)k * Np];
      for (int j = 0; j < N; ++j) wk[j] -= eta * s * nb.w2[j] * gk[j];
    }
    for (int j = 0; j < N; ++j) nb.w2[j] -= eta * s * nb.g2[j];
    bias2 -= eta * gb2;
  }
  for (int k = 0; k < d; ++k) std::memcpy(W1 + (size_t)k * N, &nb.Wa[(size_t)k * Np], N * sizeof(T));
  std::memcpy(b1, &nb.Wa[(size_t)d * Np], N * sizeof(T));
  std::memcpy(w2, nb.w2.data(), N * sizeof(T));
  *b2 = bias2;
}

template <typename T, ffi::DataType DT>
ffi::Error PairGd(ffi::ThreadPool pool, ffi::Buffer<DT> xa, ffi::Buffer<DT> ys,
                  ffi::Buffer<DT> W1, ffi::Buffer<DT> b1, ffi::Buffer<DT> w2, ffi::Buffer<DT> b2,
                  ffi::BufferR0<ffi::S32> n_steps, double eta, double s, double c,
                  ffi::ResultBuffer<DT> W1o, ffi::ResultBuffer<DT> b1o, ffi::ResultBuffer<DT> w2o,
                  ffi::ResultBuffer<DT> b2o) {
  auto xd = xa.dimensions(), wd = W1.dimensions(), yd = ys.dimensions();
  if (xd.size() != 2 || wd.size() != 3 || yd.size() != 2 || xd[1] != wd[1] + 1 ||
      yd[0] != wd[0] || yd[1] != xd[0])
    return ffi::Error::InvalidArgument("qsntk pair_gd: shapes (n, d+1), (G, n), (G, d, N) expected");
  const int G = (int)wd[0], d = (int)wd[1], N = (int)wd[2], n = (int)xd[0];
  const int64_t steps = *n_steps.typed_data();
  // outputs start as copies of the inputs and are updated in place
  std::memcpy(W1o->typed_data(), W1.typed_data(), W1.size_bytes());
  std::memcpy(b1o->typed_data(), b1.typed_data(), b1.size_bytes());
  std::memcpy(w2o->typed_data(), w2.typed_data(), w2.size_bytes());
  std::memcpy(b2o->typed_data(), b2.typed_data(), b2.size_bytes());
  if (steps <= 0) return ffi::Error::Success();
  const T* x = xa.typed_data();
  const T* y = ys.typed_data();
  T *w1p = W1o->typed_data(), *b1p = b1o->typed_data(), *w2p = w2o->typed_data(),
    *b2p = b2o->typed_data();
  // one worker per pool thread, the caller being one of them: a third worker on two cores would
  // time-share a core and its L2, which holds one network's z, Wa and gA
  qsntk_native::share<Net<T>>(pool, G, pool.num_threads() - 1, [&](int64_t g, Net<T>& nb) {
    if (nb.Wa.empty()) nb.size(d + 1, N);
    net_steps<T>(nb, x, n, d, y + (size_t)g * n, w1p + (size_t)g * d * N, b1p + (size_t)g * N,
                 w2p + (size_t)g * N, b2p + g, steps, (T)eta, (T)s, (T)c);
  });
  return ffi::Error::Success();
}

}  // namespace

#define QSNTK_GD_BIND(DT)                   \
  ffi::Ffi::Bind()                          \
      .Ctx<ffi::ThreadPool>()               \
      .Arg<ffi::Buffer<DT>>()               \
      .Arg<ffi::Buffer<DT>>()               \
      .Arg<ffi::Buffer<DT>>()               \
      .Arg<ffi::Buffer<DT>>()               \
      .Arg<ffi::Buffer<DT>>()               \
      .Arg<ffi::Buffer<DT>>()               \
      .Arg<ffi::BufferR0<ffi::S32>>()       \
      .Attr<double>("eta")                  \
      .Attr<double>("s")                    \
      .Attr<double>("c")                    \
      .Ret<ffi::Buffer<DT>>()               \
      .Ret<ffi::Buffer<DT>>()               \
      .Ret<ffi::Buffer<DT>>()               \
      .Ret<ffi::Buffer<DT>>()

XLA_FFI_DEFINE_HANDLER_SYMBOL(QsntkPairGdF32, (PairGd<float, ffi::F32>), QSNTK_GD_BIND(ffi::F32));
XLA_FFI_DEFINE_HANDLER_SYMBOL(QsntkPairGdF64, (PairGd<double, ffi::F64>), QSNTK_GD_BIND(ffi::F64));
