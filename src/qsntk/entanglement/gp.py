r"""The NNGP replica bound on ⟨S_2⟩ (eqs. 1–2 of Luo–Halverson), exactly, by Wick's theorem.

**Setting.** :math:`\psi = \psi_1 + i\psi_2` with :math:`\psi_1, \psi_2` independent
zero-mean Gaussian processes with kernels :math:`K_1, K_2` (the infinite-width
limits of two independent networks, :func:`qsntk.kernels.kernel_fn_for`; for
CosNet eq. 4). On a finite basis :math:`\psi` is a complex Gaussian vector with

.. math::  C = \mathbb E[\psi\psi^\dagger] = K_1 + K_2, \qquad
           P = \mathbb E[\psi\psi^T] = K_1 - K_2 .

**Wick's theorem for eq. 1 (n = 2).** For the *unnormalized*
:math:`\rho_A = \mathrm{Tr}_B|\psi\rangle\langle\psi|` and
:math:`Q = \mathrm{Tr}\rho_A^2 = \sum \psi(a,b)\psi^*(a',b)\psi(a',b')\psi^*(a,b')`,

.. math::  \mathbb E[Q] = \underbrace{\mathrm{Tr}\,(\mathrm{Tr}_B C)^2}_{T_1}
           + \underbrace{\textstyle\sum P_{ab,a'b'}\,P^*_{a'b,ab'}}_{T_2}
           + \underbrace{\mathrm{Tr}\,(\mathrm{Tr}_A C)^2}_{T_3},

and for the squared norm :math:`N = \|\psi\|^2`:
:math:`\mathbb E[N^2] = (\mathrm{Tr}\,C)^2 + \mathrm{Tr}\,C^2 + \|P\|_F^2`.

**Normalization -- what is provably a bound.** The paper's states are
normalized, :math:`\phi = \psi/\|\psi\|`, and :math:`\mathrm{Tr}\rho_A(\phi)^2 = Q/N^2`.
Jensen's inequality (:math:`-\log` is convex) gives, for this ensemble,

.. math::  \langle S_2\rangle \;\ge\; B_2 := -\log \mathbb E\!\left[\frac{Q}{N^2}\right].

:math:`\mathbb E[Q/N^2]` is *not* the ratio :math:`\mathbb E[Q]/\mathbb E[N^2]` of
two Wick sums unless :math:`\phi` is independent of :math:`\|\psi\|` (true for the
i.i.d. kernel :math:`C\propto 1, P = 0`, false in general). We compute it exactly
with :math:`1/N^2 = \int_0^\infty t\,e^{-tN}\,dt`:

.. math::  \mathbb E\!\left[\frac{Q}{N^2}\right] = \int_0^\infty t\,Z(t)\,\mathbb E_t[Q]\,dt,
           \qquad Z(t) = \det(1+2tK_1)^{-1/2}\det(1+2tK_2)^{-1/2},

where :math:`\mathbb E_t` is the Wick sum above with the *tilted* kernels
:math:`K_j(t) = K_j(1+2tK_j)^{-1}` (multiplying the Gaussian density of
:math:`\psi_j` by :math:`e^{-t\|\psi_j\|^2}` adds :math:`2t` to its precision
matrix; :math:`Z` is the ratio of normalizations). Tonelli's theorem justifies the
exchange (everything is non-negative). The same integral with :math:`N^2` in
place of :math:`Q` equals 1 exactly; we report its deviation as a check. The
integral is done by the trapezoidal rule in :math:`u = \log t`, exponentially
convergent since the integrand is analytic in the strip :math:`|\mathrm{Im}\,u| < \pi`;
its error is estimated by halving the step, and the truncated tail is bounded
by the missing mass of the normalization integral (:math:`Q \le N^2`
pointwise). :attr:`ReplicaBound.bound` is :math:`-\log` of the purity *plus* these
error estimates, so it stays a bound including quadrature error.

We also report the *annealed ratio* :math:`R = \mathbb E[Q]/\mathbb E[N^2]`
(no integral): :math:`-\log R` is the same Jensen bound for the ensemble
reweighted by :math:`\|\psi\|^4/\mathbb E\|\psi\|^4` -- a bound for the normalized
ensemble only when the direction is independent of the norm (i.i.d. limit,
where both give :math:`\log\frac{mn+1}{m+n}`, Page's annealed Rényi-2 value).

**Two exact evaluators.**

* *Flip-invariant kernels on spins* (:class:`FlipInvariantGP`): every kernel of
  ``qsntk.nets`` on ±1 inputs depends on :math:`x, y` only through
  :math:`x\odot y` (CosNet and Gauss-net through :math:`|x-y|^2`, fully connected
  nets through :math:`x\cdot y` with :math:`|x|^2 = d`), i.e. :math:`K(x,y) = g(x\oplus y)`
  on :math:`\mathbb Z_2^n`. Such kernels are diagonal in the Walsh–Hadamard basis,
  :math:`\lambda = Hg`, tilting acts on :math:`\lambda`, and
  :math:`T_1 = d_B^2 d_A\sum_{u\in\mathbb Z_2^A} g_C(u,0)^2`,
  :math:`T_3 = d_A^2 d_B\sum_{v} g_C(0,v)^2`, :math:`T_2 = D\sum_z g_P(z)^2`:
  :math:`O(D\log D)` per quadrature node.
* *Any kernel matrices* (:class:`DenseGP`): eigendecompose :math:`K_1, K_2` once,
  then :math:`O(D^3)` per node (use for D ≲ 2000, non-spin encodings).

:func:`mc_purity` checks both against Monte-Carlo draws of Gaussian vectors
with the kernel as covariance; finite networks approach it as N grows
(:mod:`qsntk.entanglement.ensembles`).
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple, Sequence

import numpy as np

from qsntk.entanglement.entropy import Cut, product_cut
from qsntk.errors import InputError, check_finite, check_int_at_least, check_positive

__all__ = ["walsh_hadamard", "FlipInvariantGP", "DenseGP", "ReplicaBound", "gp_from_kernels",
           "gp_from_model", "iid_gp", "replica_bound", "mc_purity", "McPurity",
           "product_inputs", "wick_purity_dense"]


# ---------------------------------------------------------------- basics
def walsh_hadamard(v) -> np.ndarray:
    """Unnormalized Walsh–Hadamard transform along the last axis (length 2^n), O(D log D).

    ``H[s, z] = (-1)^{popcount(s & z)}``; ``H @ H = D * 1``.
    """
    v = np.asarray(v, dtype=np.float64)
    D = v.shape[-1]
    n = D.bit_length() - 1
    if D != 1 << n:
        raise InputError(f"Walsh-Hadamard transform needs a power-of-two length, got {D}")
    lead = v.shape[:-1]
    w = v.reshape(lead + (2,) * n)
    for ax in range(len(lead), len(lead) + n):
        a = np.take(w, 0, axis=ax)
        b = np.take(w, 1, axis=ax)
        w = np.stack([a + b, a - b], axis=ax)
    return w.reshape(v.shape)


def product_inputs(n_sites: int, local_values: Sequence[float] = (1.0, -1.0)) -> np.ndarray:
    """Network inputs of the full product basis, row-major (site 0 slowest).

    With the default ``(+1, -1)`` this is :meth:`qsntk.physics.System.encode` of a
    full spin-1/2 basis (NetKet's order).

    Returns:
        float64 array ``(len(local_values)**n_sites, n_sites)``.
    """
    n_sites = check_int_at_least("n_sites", n_sites, 1)
    vals = np.asarray(local_values, dtype=np.float64)
    q = len(vals)
    idx = np.indices((q,) * n_sites).reshape(n_sites, -1).T
    return vals[idx]


def _sites_mask(A, n_sites: int) -> int:
    return sum(1 << (n_sites - 1 - s) for s in A)


def _as_cut(c, n_sites: int, local_dim: int) -> Cut:
    if isinstance(c, Cut):
        if c.kind != "product" or c.n_sites != n_sites or c.local_dim != local_dim:
            raise InputError(f"{c} is not a product cut of {n_sites} sites with local_dim {local_dim}")
        return c
    return product_cut(c, n_sites=n_sites, local_dim=local_dim)


# ---------------------------------------------------------------- the two GP representations
@dataclasses.dataclass(frozen=True, eq=False)
class FlipInvariantGP:
    """ψ1 + iψ2 on n spins with kernels ``K_j(x, y) = g_j(x ⊕ y)`` (Walsh-diagonal).

    Attributes:
        n_sites: number of spins n (D = 2^n).
        lam1, lam2: eigenvalues ``H g_j`` of K_1 and K_2, float64 ``(D,)``, >= 0.
    """

    n_sites: int
    lam1: np.ndarray
    lam2: np.ndarray

    local_dim = 2

    @property
    def dim(self) -> int:
        return 1 << self.n_sites

    @classmethod
    def from_rows(cls, g1, g2=None, *, n_sites: int) -> "FlipInvariantGP":
        """From the kernel rows ``g_j = K_j[0, :]`` (``g2=None``: the same kernel for ψ2).

        Raises:
            InputError: wrong length, non-finite, or a kernel that is not positive
                semi-definite (an eigenvalue below ``-1e-10`` times the largest).
        """
        D = 1 << check_int_at_least("n_sites", n_sites, 1)
        lams = []
        for name, g in (("K1 (the NNGP kernel of psi1, the real part)", g1),
                        ("K2 (the NNGP kernel of psi2, the imaginary part)", g1 if g2 is None else g2)):
            g = np.asarray(g, dtype=np.float64).ravel()
            if g.shape != (D,):
                raise InputError(f"the first row of kernel {name} must have {D} entries, got {g.shape[0]}")
            check_finite(f"kernel {name}", g)
            lam = walsh_hadamard(g)
            top = max(float(np.max(np.abs(lam))), 1e-300)
            if np.min(lam) < -1e-10 * top:
                raise InputError(f"kernel {name} is not positive semi-definite "
                                 f"(eigenvalue {np.min(lam):.3g})")
            lams.append(np.clip(lam, 0.0, None))
        if not np.any(lams[0] > 0) and not np.any(lams[1] > 0):
            raise InputError("both kernels vanish: psi = 0 has no entanglement to bound")
        return cls(n_sites, lams[0], lams[1])

    def rows(self, lam1=None, lam2=None):
        """Kernel rows ``g = H λ / D`` of the (possibly tilted) spectra."""
        lam1 = self.lam1 if lam1 is None else lam1
        lam2 = self.lam2 if lam2 is None else lam2
        return walsh_hadamard(lam1) / self.dim, walsh_hadamard(lam2) / self.dim

    def kernels(self) -> tuple[np.ndarray, np.ndarray]:
        """Dense ``(K_1, K_2)``, ``(D, D)`` each (for checks on small D)."""
        g1, g2 = self.rows()
        idx = np.arange(self.dim)
        x = idx[:, None] ^ idx[None, :]
        return g1[x], g2[x]


@dataclasses.dataclass(frozen=True, eq=False)
class DenseGP:
    """ψ1 + iψ2 on a full product basis with arbitrary kernel matrices.

    Attributes:
        n_sites, local_dim: the basis (D = local_dim ** n_sites, site 0 slowest).
        lam1, U1, lam2, U2: eigen-decompositions ``K_j = U_j diag(λ_j) U_j^T`` (λ clipped >= 0).
        same: whether ``K_2`` is ``K_1``.
    """

    n_sites: int
    local_dim: int
    lam1: np.ndarray
    U1: np.ndarray
    lam2: np.ndarray
    U2: np.ndarray
    same: bool

    @property
    def dim(self) -> int:
        return self.local_dim ** self.n_sites

    def kernels(self):
        return ((self.U1 * self.lam1) @ self.U1.T, (self.U2 * self.lam2) @ self.U2.T)


def _eig_psd(K, name):
    K = np.asarray(K, dtype=np.float64)
    check_finite(name, K)
    if not np.allclose(K, K.T, rtol=1e-10, atol=1e-12 * max(1.0, float(np.max(np.abs(K))))):
        raise InputError(f"kernel {name} is not symmetric")
    lam, U = np.linalg.eigh(0.5 * (K + K.T))
    top = max(float(np.max(np.abs(lam))), 1e-300)
    if np.min(lam) < -1e-8 * top:
        raise InputError(f"kernel {name} is not positive semi-definite (eigenvalue {np.min(lam):.3g})")
    return np.clip(lam, 0.0, None), U


def _is_flip_invariant(K, rtol=1e-10) -> bool:
    D = K.shape[0]
    idx = np.arange(D)
    return np.allclose(K, K[0][idx[:, None] ^ idx[None, :]], rtol=rtol,
                       atol=rtol * max(float(np.max(np.abs(K))), 1e-300))


def gp_from_kernels(K1, K2=None, *, n_sites: int, local_dim: int = 2, dense: bool | None = None):
    """The GP ψ1 + iψ2 from kernel matrices on the full product basis.

    Arguments:
        K1: ``(D, D)`` kernel of ψ1; ``K2``: of ψ2 (``None``: same as ``K1``; pass a
            zero matrix for a real ensemble).
        n_sites, local_dim: the basis, D = local_dim ** n_sites, site 0 slowest.
        dense: force the dense evaluator (``True``) or the Walsh one (``False``);
            default: Walsh when local_dim = 2 and both kernels are flip-invariant.

    Returns:
        :class:`FlipInvariantGP` or :class:`DenseGP`.
    """
    n_sites = check_int_at_least("n_sites", n_sites, 1)
    local_dim = check_int_at_least("local_dim", local_dim, 2)
    D = local_dim**n_sites
    K1 = np.asarray(K1, dtype=np.float64)
    K2 = K1 if K2 is None else np.asarray(K2, dtype=np.float64)
    for name, K in (("K1", K1), ("K2", K2)):
        if K.shape != (D, D):
            raise InputError(f"{name} must have shape ({D}, {D}), got {K.shape}")
        check_finite(name, K)
    walsh_ok = local_dim == 2 and _is_flip_invariant(K1) and _is_flip_invariant(K2)
    if dense is False and not walsh_ok:
        raise InputError("the Walsh evaluator needs flip-invariant kernels on spins (K[i,j] = g(i^j))")
    if walsh_ok and not dense:
        return FlipInvariantGP.from_rows(K1[0], K2[0], n_sites=n_sites)
    lam1, U1 = _eig_psd(K1, "K1")
    same = K2 is K1 or np.array_equal(K1, K2)
    lam2, U2 = (lam1, U1) if same else _eig_psd(K2, "K2")
    return DenseGP(n_sites, local_dim, lam1, U1, lam2, U2, same)


def iid_gp(n_sites: int, variance: float = 1.0, *, real: bool = False) -> FlipInvariantGP:
    """The σ_w → ∞ limit of CosNet: i.i.d. amplitudes, ``K_j = variance * 1``.

    ``real=True`` sets ψ2 = 0 (real Gaussian states).
    """
    n_sites = check_int_at_least("n_sites", n_sites, 1)
    check_positive("variance", variance)
    D = 1 << n_sites
    g = np.zeros(D)
    g[0] = variance
    return FlipInvariantGP.from_rows(g, np.zeros(D) if real else g, n_sites=n_sites)


def gp_from_model(model, n_sites: int, *, local_values: Sequence[float] = (1.0, -1.0),
                  dense: bool | None = None, check_rows: int = 8, seed: int = 0):
    """The infinite-width GP of a network (or a :class:`~qsntk.nets.RealImagPair`) on a product basis.

    Arguments:
        model: a ``RealImagPair`` (ψ1 from ``.re``, ψ2 from ``.im``) or one network
            used for both parts; any module :func:`qsntk.kernels.kernel_fn_for` knows.
        n_sites: number of sites.
        local_values: network input of each local state (spins: ``(+1, -1)``).
        dense: as :func:`gp_from_kernels`; by default spins use the Walsh path when
            ``check_rows`` random kernel rows confirm flip invariance.
        check_rows, seed: rows compared with ``g(i ^ j)`` before trusting invariance.

    Returns:
        :class:`FlipInvariantGP` or :class:`DenseGP`.
    """
    from qsntk.kernels import kernel_fn_for
    from qsntk.nets import RealImagPair

    parts = (model.re, model.im) if isinstance(model, RealImagPair) else (model, model)
    X = product_inputs(n_sites, local_values)
    D = X.shape[0]
    fns = [kernel_fn_for(parts[0])]
    fns.append(fns[0] if parts[1] == parts[0] else kernel_fn_for(parts[1]))
    if len(local_values) == 2 and dense is not True:
        rows = [np.asarray(f(X[:1], X, get="nngp"))[0] for f in fns]
        rng = np.random.default_rng(seed)
        idx = np.arange(D)
        ok = True
        for i in rng.choice(D, size=min(check_rows, D), replace=False):
            for f, g in zip(fns, rows):
                got = np.asarray(f(X[i:i + 1], X, get="nngp"))[0]
                ok &= bool(np.allclose(got, g[idx ^ i], rtol=1e-10, atol=1e-12 * np.max(np.abs(g))))
        if ok:
            return FlipInvariantGP.from_rows(rows[0], rows[1], n_sites=n_sites)
        if dense is False:
            raise InputError("this kernel is not flip-invariant on the given inputs; use dense=True")
    if D > 4096:
        raise InputError(f"dense GP evaluator limited to D <= 4096 states, got {D}")
    K1 = np.asarray(fns[0](X, get="nngp"))
    K2 = K1 if fns[1] is fns[0] else np.asarray(fns[1](X, get="nngp"))
    return gp_from_kernels(K1, K2, n_sites=n_sites, local_dim=len(local_values), dense=True)


# ---------------------------------------------------------------- Wick sums
def _walsh_terms(gC, gP, masks, n_sites):
    """Per node: T1+T2+T3 for each cut (n_nodes, n_cuts) and E[N^2] (n_nodes,)."""
    D = 1 << n_sites
    idx = np.arange(D)
    sq = gC * gC
    sqP = np.sum(gP * gP, axis=-1)
    W = []
    for mA in masks:
        mB = (D - 1) ^ mA
        dA = 1 << bin(mA).count("1")
        dB = D // dA
        t1 = dB * dB * dA * np.sum(sq[..., (idx & mB) == 0], axis=-1)
        t3 = dA * dA * dB * np.sum(sq[..., (idx & mA) == 0], axis=-1)
        W.append(t1 + t3 + D * sqP)
    NN = (D * gC[..., 0]) ** 2 + D * np.sum(sq, axis=-1) + D * sqP
    return np.stack(W, axis=-1), NN


def wick_purity_dense(C, P, cuts: Sequence, *, n_sites: int, local_dim: int = 2):
    """Wick sums for eq. 1 (n = 2) with covariance ``C`` and pseudo-covariance ``P`` (module doc).

    Arguments:
        C: ``(D, D)`` Hermitian, :math:`\\mathbb E[\\psi\\psi^\\dagger]`.
        P: ``(D, D)`` symmetric, :math:`\\mathbb E[\\psi\\psi^T]`.
        cuts: product cuts (or site sets).

    Returns:
        ``(EQ, EN2)``: :math:`\\mathbb E\\,\\mathrm{Tr}\\rho_A^2` (unnormalized), ``(n_cuts,)``,
        and :math:`\\mathbb E\\|\\psi\\|^4`.
    """
    C = np.asarray(C)
    P = np.asarray(P)
    q, n = local_dim, n_sites
    out = []
    for c in cuts:
        c = _as_cut(c, n, q)
        B = [s for s in range(n) if s not in c.A]
        perm = list(c.A) + B
        dA, dB = q ** len(c.A), q ** len(B)
        def four(M):
            t = M.reshape((q,) * (2 * n))
            t = np.transpose(t, perm + [n + s for s in perm])
            return t.reshape(dA, dB, dA, dB)
        C4, P4 = four(C), four(P)
        R = np.einsum("abcb->ac", C4)
        Rp = np.einsum("abad->bd", C4)
        t1 = np.einsum("ac,ca->", R, R)
        t3 = np.einsum("bd,db->", Rp, Rp)
        t2 = np.einsum("abcd,cbad->", P4, np.conj(P4))
        out.append((t1 + t2 + t3).real)
    EN2 = (np.trace(C).real ** 2 + np.sum(np.abs(C) ** 2) + np.sum(np.abs(P) ** 2))
    return np.asarray(out), float(EN2)


def _dense_terms(gp: DenseGP, lt1, lt2, cuts):
    K1 = (gp.U1 * lt1) @ gp.U1.T
    K2 = K1 if (gp.same and lt1 is lt2) else (gp.U2 * lt2) @ gp.U2.T
    W, NN = wick_purity_dense(K1 + K2, K1 - K2, cuts, n_sites=gp.n_sites, local_dim=gp.local_dim)
    return W, NN


# ---------------------------------------------------------------- the bound
class ReplicaBound(NamedTuple):
    """The exact NNGP replica bound, one entry per cut.

    Attributes:
        sizes: |A| of each cut.
        purity: :math:`\\mathbb E\\,\\mathrm{Tr}\\rho_A(\\phi)^2` of the *normalized* GP
            draws φ = ψ/‖ψ‖ (exact up to ``error``).
        bound: :math:`-\\log(\\text{purity} + \\text{error})`: ⟨S_2⟩ of the normalized
            GP ensemble is provably at least this (eqs. 1–2 with Jensen).
        purity_ratio: annealed :math:`\\mathbb E[Q]/\\mathbb E[N^2]` (module doc).
        bound_ratio: :math:`-\\log` of it.
        error: quadrature error bound used in ``bound`` (step halving + tail mass).
        norm_check: :math:`\\int t Z(t)\\,\\mathbb E_t[N^2]\\,dt - 1` (exactly 0 in theory).
        nodes: number of quadrature nodes.
    """

    sizes: np.ndarray
    purity: np.ndarray
    bound: np.ndarray
    purity_ratio: np.ndarray
    bound_ratio: np.ndarray
    error: float
    norm_check: float
    nodes: int


def _log_Z(t, lam1, lam2):
    return -0.5 * (np.sum(np.log1p(2.0 * t[:, None] * lam1[None]), axis=1)
                   + np.sum(np.log1p(2.0 * t[:, None] * lam2[None]), axis=1))


def _evaluate(gp, cuts, masks, t):
    """Integrand pieces at nodes t: (log Z (n,), W (n, n_cuts), NN (n,))."""
    logZ = _log_Z(t, gp.lam1, gp.lam2)
    if isinstance(gp, FlipInvariantGP):
        lt1 = gp.lam1[None] / (1.0 + 2.0 * t[:, None] * gp.lam1[None])
        lt2 = gp.lam2[None] / (1.0 + 2.0 * t[:, None] * gp.lam2[None])
        g1, g2 = walsh_hadamard(lt1) / gp.dim, walsh_hadamard(lt2) / gp.dim
        W, NN = _walsh_terms(g1 + g2, g1 - g2, masks, gp.n_sites)
        return logZ, W, NN
    Ws, NNs = [], []
    for tk in t:
        lt1 = gp.lam1 / (1.0 + 2.0 * tk * gp.lam1)
        lt2 = lt1 if gp.same else gp.lam2 / (1.0 + 2.0 * tk * gp.lam2)
        W, NN = _dense_terms(gp, lt1, lt2, cuts)
        Ws.append(W)
        NNs.append(NN)
    return logZ, np.asarray(Ws), np.asarray(NNs)


def _untilted(gp, cuts, masks):
    zero = np.zeros(1)
    _, W, NN = _evaluate(gp, cuts, masks, zero)
    return W[0], float(NN[0])


def replica_bound(gp, cuts: Sequence, *, step: float | None = None, max_nodes: int = 20000) -> ReplicaBound:
    """Exact :math:`\\mathbb E\\,\\mathrm{Tr}\\rho_A^2` of normalized GP draws and the bound on ⟨S_2⟩.

    Arguments:
        gp: :class:`FlipInvariantGP` or :class:`DenseGP` (:func:`gp_from_model`,
            :func:`gp_from_kernels`, :func:`iid_gp`).
        cuts: product cuts or site sets A (e.g. ``[range(k) for k in 1..n-1]``).
        step: trapezoidal step in log t (default 0.125 Walsh, 0.25 dense; the error
            is estimated by comparing with step 2h).
        max_nodes: refuse integrals that need more nodes.

    Returns:
        a :class:`ReplicaBound`.
    """
    cuts = [_as_cut(c, gp.n_sites, gp.local_dim) for c in cuts]
    if not cuts:
        raise InputError("no cuts given")
    masks = [_sites_mask(c.A, gp.n_sites) for c in cuts]
    h = step if step is not None else (0.125 if isinstance(gp, FlipInvariantGP) else 0.25)
    check_positive("step", h)
    EQ, EN2 = _untilted(gp, cuts, masks)
    ratio = EQ / EN2
    trace = float(np.sum(gp.lam1) + np.sum(gp.lam2))            # E ||psi||^2
    u0 = -math.log(trace)
    u = u0 - 30.0 + h * np.arange(64)
    us, Fs, FNs = [], [], []
    mass, peak, block = 0.0, 0.0, 64
    while True:
        t = np.exp(u)
        logZ, W, NN = _evaluate(gp, cuts, masks, t)
        wt = np.exp(2.0 * u + logZ)                            # t * dt = t^2 du
        F, FN = wt[:, None] * W, wt * NN
        us.append(u)
        Fs.append(F)
        FNs.append(FN)
        mass += float(np.sum(FN)) * h
        peak = max(peak, float(np.max(FN)))
        nodes = sum(len(x) for x in us)
        if FN[-1] < 1e-18 * peak and FN[-1] <= FN[-2] and abs(1.0 - mass) < 1e-12:
            break
        if nodes >= max_nodes:
            raise InputError(f"replica-bound quadrature did not converge in {max_nodes} nodes "
                             f"(normalization integral {mass!r}); try a larger step")
        u = u[-1] + h * np.arange(1, block + 1)
    F = np.concatenate(Fs, axis=0)
    FN = np.concatenate(FNs)
    purity = h * np.sum(F, axis=0)
    purity_2h = 2 * h * np.sum(F[::2], axis=0)
    norm = h * np.sum(FN)
    tail = abs(1.0 - norm)
    err = float(np.max(np.abs(purity - purity_2h))) + tail + float(FN[0]) * h
    bound = -np.log(np.minimum(1.0, purity + err))
    sizes = np.array([c.size for c in cuts])
    return ReplicaBound(sizes, purity, bound, ratio, -np.log(ratio), err, norm - 1.0, len(FN))


# ---------------------------------------------------------------- Monte Carlo check
class McPurity(NamedTuple):
    """Monte-Carlo estimates from Gaussian vectors with the GP's covariance.

    Attributes:
        purity, purity_se: mean and standard error of Tr ρ_A(φ)² (normalized draws), ``(n_cuts,)``.
        neglog, neglog_se: :math:`-\\log` of the mean purity and its delta-method error.
        s2, s2_se: mean and standard error of S_2 = −log Tr ρ_A(φ)².
        ratio, ratio_se: :math:`\\sum Q/\\sum N^2` (annealed ratio) and its delta-method error.
        samples: number of draws.
    """

    purity: np.ndarray
    purity_se: np.ndarray
    neglog: np.ndarray
    neglog_se: np.ndarray
    s2: np.ndarray
    s2_se: np.ndarray
    ratio: np.ndarray
    ratio_se: np.ndarray
    samples: int


def sample_gp(gp, n: int, *, rng: np.random.Generator) -> np.ndarray:
    """``n`` draws of ψ = ψ1 + iψ2 from the GP, complex128 ``(n, D)``."""
    z1 = rng.standard_normal((n, gp.dim))
    z2 = rng.standard_normal((n, gp.dim))
    if isinstance(gp, FlipInvariantGP):
        s = 1.0 / math.sqrt(gp.dim)
        return s * (walsh_hadamard(np.sqrt(gp.lam1) * z1) + 1j * walsh_hadamard(np.sqrt(gp.lam2) * z2))
    return (z1 * np.sqrt(gp.lam1)) @ gp.U1.T + 1j * ((z2 * np.sqrt(gp.lam2)) @ gp.U2.T)


def mc_purity(gp, cuts: Sequence, n_samples: int, *, seed: int = 0, chunk: int = 256,
              progress=None) -> McPurity:
    """Monte-Carlo estimate of the quantities :func:`replica_bound` computes exactly.

    Arguments:
        gp: the Gaussian process.
        cuts: product cuts or site sets.
        n_samples: number of Gaussian vectors (>= 2).
        seed: seed of the ``numpy.random.Generator``.
        chunk: draws per batch.
        progress: optional reporter with ``advance(n)``.

    Returns:
        a :class:`McPurity`.
    """
    from qsntk.entanglement.entropy import purities

    n_samples = check_int_at_least("n_samples", n_samples, 2)
    chunk = check_int_at_least("chunk", chunk, 1)
    cuts = [_as_cut(c, gp.n_sites, gp.local_dim) for c in cuts]
    rng = np.random.default_rng(seed)
    P, Nsq = [], []
    done = 0
    while done < n_samples:
        b = min(chunk, n_samples - done)
        psi = sample_gp(gp, b, rng=rng)
        P.append(np.stack([np.asarray(purities(psi, c)) for c in cuts], axis=1))
        Nsq.append(np.sum(np.abs(psi) ** 2, axis=1) ** 2)
        done += b
        if progress is not None:
            progress.advance(b)
    P = np.concatenate(P)
    Nsq = np.concatenate(Nsq)
    n = len(P)
    m = P.mean(0)
    se = P.std(0, ddof=1) / math.sqrt(n)
    S2 = -np.log(P)
    Q = P * Nsq[:, None]
    r = Q.sum(0) / Nsq.sum()
    # delta method for a ratio of means
    resid = Q - r[None] * Nsq[:, None]
    r_se = resid.std(0, ddof=1) / math.sqrt(n) / Nsq.mean()
    return McPurity(m, se, -np.log(m), se / m, S2.mean(0), S2.std(0, ddof=1) / math.sqrt(n),
                    r, r_se, n)
