// Fused CPU kernel for qsntk.circuits.native: epsilon, d epsilon / d theta, K (eq. 6) and
// mu (eq. 14 of Liu et al.) of one two-level circuit for a batch of angle samples.
//
// The same arithmetic as qsntk.circuits.fast.unrolled (read its docstring for the maths),
// with every sweep of a block of BB samples kept in cache and the states held as
// [row][sample] so that each real mat-vec is BB-wide FMAs over the samples:
//
//   forward   phi_l = c_l psi + s_l (i Sigma_l) psi,      psi <- GT_l phi_l      (l = L-1 .. 0)
//   adjoint   lt = GT_l^T lam,  a = (i Sigma_l) lt,  g_l = -2 h_l <a, phi_l>,
//             lam <- c_l lt - s_l a                                              (l = 0 .. L-1)
//   mu        e1 = c d1 + s iS d1,  A = e1 + w iS phi,  Bv = c d2 + s iS d2 + 2 w iS e1 - w^2 phi,
//             d1 <- GT_l A,  d2 <- GT_l Bv   (w = h_l g_l);  mu = 2<lam0, d2> + 2<d1, RO^T d1>
//
// where (i Sigma_l) p = roll(p, D) * sign_l on a real state p = [Re, Im] of length n2 = 2D.
// Blocks of BB samples are shared between the calling thread and XLA's intra-op thread pool.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "common.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

using qsntk_native::Simd;

// out[i][b] = sum_j M[i][j] in[j][b], M (n x n) row-major, states [n][BB], BB = 2 vectors.
// Eight rows times one vector at a time: eight independent FMA chains cover the FMA latency and
// fit the registers with the input vector and a broadcast (1.4x faster than four rows times two
// vectors in a microbenchmark); not inlined, since inside the sweep register pressure spilled
// an accumulator to the stack (1.5x slower).
template <typename T, int BB>
__attribute__((noinline)) void matvec(const T* __restrict M, const T* __restrict in,
                                      T* __restrict out, int n) {
  using V = typename Simd<T>::v;
  constexpr int W = Simd<T>::W;
  static_assert(BB == 2 * W, "a state row is two SIMD vectors");
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    const T* m = M + (size_t)i * n;
    for (int v = 0; v < BB; v += W) {
      V a0 = {}, a1 = {}, a2 = {}, a3 = {}, a4 = {}, a5 = {}, a6 = {}, a7 = {};
      for (int j = 0; j < n; ++j) {
        const V x = *(const V*)(in + (size_t)j * BB + v);
        a0 += m[j] * x;
        a1 += m[n + j] * x;
        a2 += m[2 * n + j] * x;
        a3 += m[3 * n + j] * x;
        a4 += m[4 * n + j] * x;
        a5 += m[5 * n + j] * x;
        a6 += m[6 * n + j] * x;
        a7 += m[7 * n + j] * x;
      }
      T* o = out + (size_t)i * BB + v;
      *(V*)(o) = a0; *(V*)(o + BB) = a1; *(V*)(o + 2 * BB) = a2; *(V*)(o + 3 * BB) = a3;
      *(V*)(o + 4 * BB) = a4; *(V*)(o + 5 * BB) = a5; *(V*)(o + 6 * BB) = a6;
      *(V*)(o + 7 * BB) = a7;
    }
  }
  for (; i < n; ++i) {
    V a0 = {}, a1 = {};
    for (int j = 0; j < n; ++j) {
      const T c = M[(size_t)i * n + j];
      a0 += c * *(const V*)(in + (size_t)j * BB);
      a1 += c * *(const V*)(in + (size_t)j * BB + W);
    }
    *(V*)(out + (size_t)i * BB) = a0;
    *(V*)(out + (size_t)i * BB + W) = a1;
  }
}

// two mat-vecs with the same matrix (the mu sweep's d1 and d2): four rows times two inputs
// times one vector at a time (eight FMA chains, as in matvec)
template <typename T, int BB>
__attribute__((noinline)) void matvec2(const T* __restrict M, const T* __restrict x1,
                                       const T* __restrict x2, T* __restrict y1,
                                       T* __restrict y2, int n) {
  using V = typename Simd<T>::v;
  constexpr int W = Simd<T>::W;
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    const T* m = M + (size_t)i * n;
    for (int v = 0; v < BB; v += W) {
      V p0 = {}, p1 = {}, p2 = {}, p3 = {}, q0 = {}, q1 = {}, q2 = {}, q3 = {};
      for (int j = 0; j < n; ++j) {
        const V u = *(const V*)(x1 + (size_t)j * BB + v), w = *(const V*)(x2 + (size_t)j * BB + v);
        const T c0 = m[j], c1 = m[n + j], c2 = m[2 * n + j], c3 = m[3 * n + j];
        p0 += c0 * u; q0 += c0 * w;
        p1 += c1 * u; q1 += c1 * w;
        p2 += c2 * u; q2 += c2 * w;
        p3 += c3 * u; q3 += c3 * w;
      }
      T* o1 = y1 + (size_t)i * BB + v;
      T* o2 = y2 + (size_t)i * BB + v;
      *(V*)(o1) = p0; *(V*)(o1 + BB) = p1; *(V*)(o1 + 2 * BB) = p2; *(V*)(o1 + 3 * BB) = p3;
      *(V*)(o2) = q0; *(V*)(o2 + BB) = q1; *(V*)(o2 + 2 * BB) = q2; *(V*)(o2 + 3 * BB) = q3;
    }
  }
  for (; i < n; ++i) {
    V p0 = {}, p1 = {}, q0 = {}, q1 = {};
    for (int j = 0; j < n; ++j) {
      const T c = M[(size_t)i * n + j];
      p0 += c * *(const V*)(x1 + (size_t)j * BB);
      p1 += c * *(const V*)(x1 + (size_t)j * BB + W);
      q0 += c * *(const V*)(x2 + (size_t)j * BB);
      q1 += c * *(const V*)(x2 + (size_t)j * BB + W);
    }
    *(V*)(y1 + (size_t)i * BB) = p0; *(V*)(y1 + (size_t)i * BB + W) = p1;
    *(V*)(y2 + (size_t)i * BB) = q0; *(V*)(y2 + (size_t)i * BB + W) = q1;
  }
}

struct Dims {
  int L, n2;
  int64_t B;
};

// Partner row of i under i Sigma: (i Sigma p)[i] = sign[i] * p[partner(i)], partner = i +- D.
inline int partner(int i, int D) { return i < D ? i + D : i - D; }

template <typename T, int BB>
void sweep_block(const Dims& d, const T* GT, const T* G, const T* sign, const T* h, const T* ROT,
                 const T* psi0, const T* cs, const T* sn, int64_t b0, int nb, bool with_mu,
                 T* eps, T* grad, T* K, T* mu, std::vector<T>& work) {
  using V = typename Simd<T>::v;
  constexpr int W = Simd<T>::W;
  auto ld = [](const T* p) { return *(const V*)p; };
  auto st = [](T* p, V x) { *(V*)p = x; };
  const int L = d.L, n2 = d.n2, D = n2 / 2;
  const size_t S = (size_t)n2 * BB;
  const size_t need = S * (L + 8) + (size_t)L * BB * 3;
  if (work.size() != need) work.resize(need);
  T* phis = work.data();            // the L states phi_l
  T* psi = phis + S * L;
  T* tmp = psi + S;
  T* lam0 = tmp + S;
  T* lam = lam0 + S;
  T* d1 = lam + S;
  T* d2 = d1 + S;
  T* e1 = d2 + S;
  T* x1 = e1 + S;
  T* c = x1 + S;                    // [L][BB] cos, sin, g
  T* s = c + (size_t)L * BB;
  T* g = s + (size_t)L * BB;
  for (int l = 0; l < L; ++l)
    for (int b = 0; b < BB; ++b) {
      const bool live = b < nb;     // padding lanes: the identity layer (c = 1, s = 0)
      c[(size_t)l * BB + b] = live ? cs[(size_t)l * d.B + b0 + b] : T(1);
      s[(size_t)l * BB + b] = live ? sn[(size_t)l * d.B + b0 + b] : T(0);
    }
  for (int i = 0; i < n2; ++i)
    for (int b = 0; b < BB; ++b) psi[(size_t)i * BB + b] = psi0[i];
  // forward: layer L acts first; phi_l = c psi + s iS psi, psi <- GT_l phi_l
  for (int l = L - 1; l >= 0; --l) {
    T* phi = phis + S * l;
    const T* sg = sign + (size_t)l * n2;
    const V c0 = ld(c + (size_t)l * BB), c1 = ld(c + (size_t)l * BB + W);
    const V s0 = ld(s + (size_t)l * BB), s1 = ld(s + (size_t)l * BB + W);
    for (int i = 0; i < n2; ++i) {
      const T* x = psi + (size_t)i * BB;
      const T* y = psi + (size_t)partner(i, D) * BB;
      const T q = sg[i];
      st(phi + (size_t)i * BB, c0 * ld(x) + (q * s0) * ld(y));
      st(phi + (size_t)i * BB + W, c1 * ld(x + W) + (q * s1) * ld(y + W));
    }
    matvec<T, BB>(GT + (size_t)l * n2 * n2, phi, psi, n2);
  }
  matvec<T, BB>(ROT, psi, lam0, n2);
  V e0 = {}, e1v = {};
  for (int i = 0; i < n2; ++i) {
    e0 += ld(psi + (size_t)i * BB) * ld(lam0 + (size_t)i * BB);
    e1v += ld(psi + (size_t)i * BB + W) * ld(lam0 + (size_t)i * BB + W);
  }
  // adjoint sweep: lt = GT_l^T lam, a = iS lt, g_l = -2 h_l <a, phi_l>, lam <- c lt - s a
  std::copy(lam0, lam0 + S, lam);
  V k0 = {}, k1 = {};
  for (int l = 0; l < L; ++l) {
    const T* phi = phis + S * l;
    const T* sg = sign + (size_t)l * n2;
    matvec<T, BB>(G + (size_t)l * n2 * n2, lam, tmp, n2);
    const V c0 = ld(c + (size_t)l * BB), c1 = ld(c + (size_t)l * BB + W);
    const V s0 = ld(s + (size_t)l * BB), s1 = ld(s + (size_t)l * BB + W);
    V g0 = {}, g1 = {};
    for (int i = 0; i < n2; ++i) {
      const T* y = tmp + (size_t)partner(i, D) * BB;
      const T q = sg[i];
      const V a0 = q * ld(y), a1 = q * ld(y + W);
      g0 += a0 * ld(phi + (size_t)i * BB);
      g1 += a1 * ld(phi + (size_t)i * BB + W);
      st(lam + (size_t)i * BB, c0 * ld(tmp + (size_t)i * BB) - s0 * a0);
      st(lam + (size_t)i * BB + W, c1 * ld(tmp + (size_t)i * BB + W) - s1 * a1);
    }
    const T m2h = T(-2) * h[l];
    g0 *= m2h;
    g1 *= m2h;
    st(g + (size_t)l * BB, g0);
    st(g + (size_t)l * BB + W, g1);
    k0 += g0 * g0;
    k1 += g1 * g1;
  }
  V m0 = {}, m1 = {};
  if (with_mu) {
    // d1 <- GT_l (P d1 + w iS phi), d2 <- GT_l (P d2 + 2 w iS P d1 - w^2 phi), w = h_l g_l
    std::fill(d1, d1 + S, T(0));
    std::fill(d2, d2 + S, T(0));
    T* x2 = lam;                    // free after the adjoint sweep
    for (int l = L - 1; l >= 0; --l) {
      const T* phi = phis + S * l;
      const T* sg = sign + (size_t)l * n2;
      const V c0 = ld(c + (size_t)l * BB), c1 = ld(c + (size_t)l * BB + W);
      const V s0 = ld(s + (size_t)l * BB), s1 = ld(s + (size_t)l * BB + W);
      const V w0 = h[l] * ld(g + (size_t)l * BB), w1 = h[l] * ld(g + (size_t)l * BB + W);
      for (int i = 0; i < n2; ++i) {        // e1 = P d1 = c d1 + s iS d1
        const T* y = d1 + (size_t)partner(i, D) * BB;
        const T q = sg[i];
        st(e1 + (size_t)i * BB, c0 * ld(d1 + (size_t)i * BB) + (q * s0) * ld(y));
        st(e1 + (size_t)i * BB + W, c1 * ld(d1 + (size_t)i * BB + W) + (q * s1) * ld(y + W));
      }
      for (int i = 0; i < n2; ++i) {
        const size_t o = (size_t)i * BB, k = (size_t)partner(i, D) * BB;
        const T q = sg[i];
        st(x1 + o, ld(e1 + o) + (q * w0) * ld(phi + k));
        st(x1 + o + W, ld(e1 + o + W) + (q * w1) * ld(phi + k + W));
        st(x2 + o, c0 * ld(d2 + o) + (q * s0) * ld(d2 + k) + (T(2) * q * w0) * ld(e1 + k)
                       - (w0 * w0) * ld(phi + o));
        st(x2 + o + W, c1 * ld(d2 + o + W) + (q * s1) * ld(d2 + k + W)
                           + (T(2) * q * w1) * ld(e1 + k + W) - (w1 * w1) * ld(phi + o + W));
      }
      matvec2<T, BB>(GT + (size_t)l * n2 * n2, x1, x2, d1, d2, n2);
    }
    matvec<T, BB>(ROT, d1, tmp, n2);
    for (int i = 0; i < n2; ++i) {
      const size_t o = (size_t)i * BB;
      m0 += T(2) * (ld(lam0 + o) * ld(d2 + o) + ld(d1 + o) * ld(tmp + o));
      m1 += T(2) * (ld(lam0 + o + W) * ld(d2 + o + W) + ld(d1 + o + W) * ld(tmp + o + W));
    }
  }
  T ev[BB], kk[BB], mm[BB];
  st(ev, e0); st(ev + W, e1v);
  st(kk, k0); st(kk + W, k1);
  st(mm, m0); st(mm + W, m1);
  for (int b = 0; b < nb; ++b) {
    const int64_t r = b0 + b;
    eps[r] = ev[b];
    K[r] = kk[b];
    mu[r] = with_mu ? mm[b] : T(NAN);
    for (int l = 0; l < L; ++l) grad[r * L + l] = g[(size_t)l * BB + b];
  }
}

template <typename T, ffi::DataType DT>
ffi::Error Sweep(ffi::ThreadPool pool, ffi::Buffer<DT> gt, ffi::Buffer<DT> sign,
                 ffi::Buffer<DT> h, ffi::Buffer<DT> rot, ffi::Buffer<DT> psi0, ffi::Buffer<DT> cs,
                 ffi::Buffer<DT> sn, int32_t with_mu, int32_t threads,
                 ffi::ResultBuffer<DT> eps, ffi::ResultBuffer<DT> grad, ffi::ResultBuffer<DT> K,
                 ffi::ResultBuffer<DT> mu) {
  auto gd = gt.dimensions();
  auto cd = cs.dimensions();
  if (gd.size() != 3 || gd[1] != gd[2] || gd[1] % 2 != 0 || cd.size() != 2 || cd[0] != gd[0])
    return ffi::Error::InvalidArgument("qsntk sweep: shapes (L, n2, n2) and (L, B) expected");
  // every buffer is read with the dimensions of gt and cs: refuse any that is smaller
  // (or otherwise shaped) rather than read past it
  auto sd = sign.dimensions();
  auto hd = h.dimensions();
  auto rd = rot.dimensions();
  auto pd = psi0.dimensions();
  auto nd = sn.dimensions();
  if (sd.size() != 2 || sd[0] != gd[0] || sd[1] != gd[1])
    return ffi::Error::InvalidArgument("qsntk sweep: sign must be (L, n2)");
  if (hd.size() != 1 || hd[0] != gd[0])
    return ffi::Error::InvalidArgument("qsntk sweep: h must be (L,)");
  if (rd.size() != 2 || rd[0] != gd[1] || rd[1] != gd[1])
    return ffi::Error::InvalidArgument("qsntk sweep: the observable RO^T must be (n2, n2)");
  if (pd.size() != 1 || pd[0] != gd[1])
    return ffi::Error::InvalidArgument("qsntk sweep: the input state must be (n2,)");
  if (nd.size() != 2 || nd[0] != cd[0] || nd[1] != cd[1])
    return ffi::Error::InvalidArgument("qsntk sweep: cos and sin must both be (L, B)");
  auto ed = eps->dimensions();
  auto rgd = grad->dimensions();
  auto kd = K->dimensions();
  auto md = mu->dimensions();
  if (ed.size() != 1 || ed[0] != cd[1] || kd.size() != 1 || kd[0] != cd[1] || md.size() != 1 ||
      md[0] != cd[1] || rgd.size() != 2 || rgd[0] != cd[1] || rgd[1] != cd[0])
    return ffi::Error::InvalidArgument("qsntk sweep: results must be (B,), (B, L), (B,), (B,)");
  const Dims d{(int)gd[0], (int)gd[1], (int64_t)cd[1]};
  const int L = d.L, n2 = d.n2;
  const T* GT = gt.typed_data();
  std::vector<T> G((size_t)L * n2 * n2);  // G_l = GT_l^T, row-major, for the adjoint sweep
  for (int l = 0; l < L; ++l)
    for (int i = 0; i < n2; ++i)
      for (int j = 0; j < n2; ++j)
        G[(size_t)l * n2 * n2 + (size_t)i * n2 + j] = GT[(size_t)l * n2 * n2 + (size_t)j * n2 + i];
  constexpr int BB = 2 * Simd<T>::W;
  const int64_t blocks = (d.B + BB - 1) / BB;
  const int64_t helpers = threads > 0 ? threads - 1 : pool.num_threads();
  qsntk_native::share<std::vector<T>>(pool, blocks, helpers, [&](int64_t k, std::vector<T>& buf) {
    const int64_t b0 = k * BB;
    const int nb = (int)std::min<int64_t>(BB, d.B - b0);
    sweep_block<T, BB>(d, GT, G.data(), sign.typed_data(), h.typed_data(), rot.typed_data(),
                       psi0.typed_data(), cs.typed_data(), sn.typed_data(), b0, nb, with_mu != 0,
                       eps->typed_data(), grad->typed_data(), K->typed_data(), mu->typed_data(),
                       buf);
  });
  return ffi::Error::Success();
}

}  // namespace

#define QSNTK_BIND(DT)                                \
  ffi::Ffi::Bind()                                    \
      .Ctx<ffi::ThreadPool>()                         \
      .Arg<ffi::Buffer<DT>>()                         \
      .Arg<ffi::Buffer<DT>>()                         \
      .Arg<ffi::Buffer<DT>>()                         \
      .Arg<ffi::Buffer<DT>>()                         \
      .Arg<ffi::Buffer<DT>>()                         \
      .Arg<ffi::Buffer<DT>>()                         \
      .Arg<ffi::Buffer<DT>>()                         \
      .Attr<int32_t>("with_mu")                       \
      .Attr<int32_t>("threads")                       \
      .Ret<ffi::Buffer<DT>>()                         \
      .Ret<ffi::Buffer<DT>>()                         \
      .Ret<ffi::Buffer<DT>>()                         \
      .Ret<ffi::Buffer<DT>>()

XLA_FFI_DEFINE_HANDLER_SYMBOL(QsntkSweepF64, (Sweep<double, ffi::F64>), QSNTK_BIND(ffi::F64));
XLA_FFI_DEFINE_HANDLER_SYMBOL(QsntkSweepF32, (Sweep<float, ffi::F32>), QSNTK_BIND(ffi::F32));
