r"""Entanglement entropies of pure states for any bipartition, batched, in float64.

For a normalized state :math:`|\psi\rangle = \sum_x \psi(x)|x\rangle` and a
bipartition of the sites into :math:`A` and its complement :math:`B`, write
:math:`x = (x_A, x_B)` and the *Schmidt matrix* :math:`M_{x_A x_B} = \psi(x_A, x_B)`.
Its squared singular values :math:`p_k` (the Schmidt spectrum, the eigenvalues
of :math:`\rho_A = \mathrm{Tr}_B|\psi\rangle\langle\psi| = M M^\dagger`) give the
Rényi entropies of Luo–Halverson sec. 3,

.. math::  S_n = \frac{1}{1-n}\log \mathrm{Tr}\,\rho_A^n = \frac{1}{1-n}\log\sum_k p_k^n,
           \qquad S_1 = -\sum_k p_k \log p_k, \qquad S_\infty = -\log \max_k p_k .

Entropies use natural logarithms and are computed from the state *after*
normalization: ``psi`` may have any norm (each state is first divided by its largest
real or imaginary part, so 1e-300 or 1e300 times a state gives the same entropies);
a zero vector or non-finite entries are refused (:func:`as_states`).

**Bases and sites.** A :class:`Cut` describes the bipartition and how basis
indices map to :math:`(x_A, x_B)`:

* :func:`product_cut` -- the full product basis of ``n_sites`` sites with
  ``local_dim`` states each, indexed row-major with site 0 slowest. This is
  NetKet's ``all_states()`` order for ``Spin(1/2, N)`` (local states ``[+1, -1]``),
  i.e. the order of :meth:`qsntk.physics.System.basis`.
* :func:`basis_cut` -- any subset of a product basis (a symmetry sector), given
  by the local state of every site of every basis state. The Schmidt matrix then
  splits into blocks, one per connected component of the bipartite graph
  "A-configuration -- B-configuration" (for a particle-number sector, one per
  value of the charges in A); :math:`\rho_A` is block diagonal, so the spectrum
  is the union of the blocks' spectra.
* :func:`system_cut` -- the cut of a :class:`qsntk.physics.System`; Hubbard
  sites are 4-level sites (hole, ↓, ↑, ↑↓), with fermionic signs (see
  :mod:`qsntk.entanglement.sectors`).

The spectrum comes from a batched SVD of :math:`M` (``method="svd"``) or from
the Gram matrix of the smaller side, :math:`G = M M^\dagger` or :math:`M^\dagger M`
(``"gram"``: singular values of the PSD matrix ``G``, i.e. its eigenvalues;
``"eigh"``: a Hermitian eigensolver, which JAX runs far slower than its SVD on
CPU). ``"auto"`` (default) takes ``"gram"`` when one side is at least 8 times
the other and ``"svd"`` otherwise. All are float64/complex128 whatever the
global precision. The Gram routes lose eigenvalues below ~1e-16 of the largest,
which changes :math:`S_1` by less than ~1e-13 (``p log p`` vanishes there);
tests pin the methods against each other.
"""

from __future__ import annotations

import dataclasses
import math
from functools import partial
from typing import Iterable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from qsntk.errors import InputError, check_choice, check_finite, check_int_at_least

__all__ = ["Cut", "product_cut", "basis_cut", "prefix_cuts", "schmidt_probabilities",
           "renyi_entropy", "entropies", "purities", "entropy_curve", "as_states", "METHODS",
           "check_order"]

METHODS = ("auto", "svd", "gram", "eigh")

#: batches smaller than this many amplitudes are computed with numpy (same
#: code, ``xp=numpy``): compiling a function per cut costs more than it saves
JIT_MIN_SIZE = 1 << 16


@dataclasses.dataclass(frozen=True, eq=False)
class Cut:
    """A bipartition A|B of the sites and the map from basis indices to Schmidt matrices.

    Build with :func:`product_cut`, :func:`basis_cut` or :func:`system_cut`.

    Attributes:
        A: the sites of subsystem A (sorted tuple).
        n_sites: number of sites.
        dim: number of basis states (length of ``psi``).
        kind: ``"product"`` (full product basis, reshape) or ``"blocks"`` (sector).
        local_dim: states per site (product cuts).
        blocks: for ``"blocks"``: tuple of ``(index, sign)`` integer/float arrays of
            shape ``(rows, cols)``: the basis index of ``(x_A, x_B)`` (``-1``: not in
            the basis, amplitude 0) and the sign multiplying it.
    """

    A: tuple
    n_sites: int
    dim: int
    kind: str
    local_dim: int = 2
    blocks: tuple = ()

    @property
    def size(self) -> int:
        """|A|."""
        return len(self.A)

    @property
    def rank_bound(self) -> int:
        """Length of the Schmidt spectrum returned (max rank of ρ_A)."""
        if self.kind == "product":
            q = self.local_dim
            return min(q ** len(self.A), q ** (self.n_sites - len(self.A)))
        return sum(min(ix.shape) for ix, _ in self.blocks)

    def _key(self):
        # product cuts compare by value (so compiled functions are reused); sector cuts by identity
        return (self.kind, self.A, self.n_sites, self.local_dim) if self.kind == "product" else id(self)

    def __eq__(self, other) -> bool:
        return isinstance(other, Cut) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Cut(A={self.A}, n_sites={self.n_sites}, dim={self.dim}, kind={self.kind!r})"


def _check_sites(A, n_sites: int) -> tuple:
    try:
        sites = [int(a) for a in A]
    except (TypeError, ValueError):
        raise InputError(f"subsystem A must be a collection of site indices, got {A!r}") from None
    for a, raw in zip(sites, A):
        if a != raw or a < 0 or a >= n_sites:
            raise InputError(f"site {raw!r} of subsystem A is not in 0..{n_sites - 1}")
    if len(set(sites)) != len(sites):
        raise InputError(f"subsystem A lists a site twice: {sorted(sites)}")
    return tuple(sorted(sites))


def product_cut(A: Iterable[int], *, n_sites: int, local_dim: int = 2) -> Cut:
    """The cut A|B of the full product basis (``local_dim ** n_sites`` states, site 0 slowest).

    Arguments:
        A: sites of subsystem A (any subset of ``range(n_sites)``, contiguous or not;
            empty or all sites give zero entropy).
        n_sites: number of sites.
        local_dim: states per site (2 for spins 1/2, 4 for Hubbard sites).

    Returns:
        a :class:`Cut`.
    """
    n_sites = check_int_at_least("n_sites", n_sites, 1)
    local_dim = check_int_at_least("local_dim", local_dim, 2)
    if n_sites * math.log2(local_dim) > 26:          # before forming local_dim**n_sites (n_sites = 1e9)
        raise InputError(f"local_dim**n_sites = {local_dim}**{n_sites} is too large for a dense state")
    dim = local_dim ** n_sites
    if dim > 2**26:
        raise InputError(f"local_dim**n_sites = {local_dim}**{n_sites} is too large for a dense state")
    return Cut(_check_sites(A, n_sites), n_sites, dim, "product", local_dim)


def prefix_cuts(n_sites: int, *, local_dim: int = 2, sizes: Sequence[int] | None = None) -> list[Cut]:
    """Product cuts with A = the first k sites, for k in ``sizes`` (default 1 .. n_sites - 1).

    These are the cuts of Fig. 1 of Luo–Halverson (subsystem size |A| on the x-axis).
    """
    n_sites = check_int_at_least("n_sites", n_sites, 2)
    product_cut((), n_sites=n_sites, local_dim=local_dim)    # size check before listing the cuts
    sizes = list(range(1, n_sites)) if sizes is None else [int(k) for k in sizes]
    for k in sizes:
        if k < 0 or k > n_sites:
            raise InputError(f"subsystem size {k} is not in 0..{n_sites}")
    return [product_cut(range(k), n_sites=n_sites, local_dim=local_dim) for k in sizes]


def basis_cut(labels, A: Iterable[int], *, signs=None) -> Cut:
    """The cut A|B of an arbitrary set of product-basis states (e.g. a symmetry sector).

    Arguments:
        labels: integer array ``(dim, n_sites)``: the local state of every site
            in every basis state (any non-negative integers; rows distinct).
        A: sites of subsystem A.
        signs: optional ``(dim,)`` array of ±1 multiplying each amplitude before
            the Schmidt decomposition (fermionic reordering signs,
            :func:`qsntk.entanglement.sectors.fermion_signs`).

    Returns:
        a :class:`Cut` of kind ``"blocks"``: one block per connected component of
        the bipartite graph joining the A- and B-configurations that occur
        together in the basis. Distinct components share no B-configuration, so
        ρ_A is block diagonal and its spectrum is the union of the blocks'.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.shape[0] == 0 or labels.dtype.kind not in "iu":
        raise InputError(f"labels must be a non-empty integer array (dim, n_sites), got "
                         f"{labels.dtype} {labels.shape}")
    dim, n_sites = labels.shape
    A = _check_sites(A, n_sites)
    B = tuple(s for s in range(n_sites) if s not in A)
    ua, ia = np.unique(labels[:, list(A)], axis=0, return_inverse=True)
    ub, ib = np.unique(labels[:, list(B)], axis=0, return_inverse=True)
    ia, ib = ia.ravel(), ib.ravel()
    if len(set(zip(ia.tolist(), ib.tolist()))) != dim:
        raise InputError("labels has repeated basis states")
    if signs is None:
        signs = np.ones(dim)
    signs = np.asarray(signs, dtype=np.float64)
    if signs.shape != (dim,) or not np.all(np.abs(signs) == 1):
        raise InputError(f"signs must be a ({dim},) array of +-1")
    na, nb = len(ua), len(ub)
    graph = coo_matrix((np.ones(dim), (ia, na + ib)), shape=(na + nb, na + nb))
    n_comp, comp = connected_components(graph, directed=False)
    blocks = []
    for c in range(n_comp):
        rows = np.flatnonzero(comp[:na] == c)
        cols = np.flatnonzero(comp[na:] == c)
        if len(rows) == 0 or len(cols) == 0:
            continue
        rpos = np.full(na, -1)
        rpos[rows] = np.arange(len(rows))
        cpos = np.full(nb, -1)
        cpos[cols] = np.arange(len(cols))
        sel = np.flatnonzero(comp[ia] == c)
        index = np.full((len(rows), len(cols)), -1, dtype=np.int64)
        sign = np.zeros((len(rows), len(cols)))
        index[rpos[ia[sel]], cpos[ib[sel]]] = sel
        sign[rpos[ia[sel]], cpos[ib[sel]]] = signs[sel]
        blocks.append((index, sign))
    return Cut(A, n_sites, dim, "blocks", int(labels.max()) + 1, tuple(blocks))


def as_states(psi, dim: int | None = None) -> tuple:
    """``psi`` as a complex128 batch ``(B, dim)`` (numpy, or JAX for JAX input) and whether it was one state.

    Raises:
        InputError: wrong shape, non-finite entries, or a zero state.
    """
    arr = np.asarray(psi) if not isinstance(psi, jax.Array) else psi
    if arr.ndim not in (1, 2):
        raise InputError(f"psi must have shape (dim,) or (batch, dim), got {tuple(arr.shape)}")
    single = arr.ndim == 1
    arr = arr.astype(jnp.complex128) if isinstance(arr, jax.Array) else np.asarray(arr, dtype=np.complex128)
    arr = arr[None] if single else arr
    if dim is not None and arr.shape[-1] != dim:
        raise InputError(f"psi has {arr.shape[-1]} amplitudes but the basis has {dim} states")
    check_finite("psi", np.asarray(arr))
    peak = np.asarray(_peak(arr, np)) if not isinstance(arr, jax.Array) else np.asarray(_peak(arr, jnp))
    if np.any(peak == 0):
        raise InputError(f"psi is the zero vector (state {int(np.flatnonzero(peak == 0)[0])}): "
                         "it has no entanglement entropy")
    return arr, single


def _peak(psi, xp=jnp):
    """``max_x max(|Re psi(x)|, |Im psi(x)|)`` per state (last axis): a scale that never overflows."""
    return xp.max(xp.maximum(xp.abs(xp.real(psi)), xp.abs(xp.imag(psi))), axis=-1)


def _rescale(psi, xp=jnp):
    """``psi / _peak(psi)`` per state, so that squaring neither overflows nor underflows.

    Entropies depend on the normalized state only; after this step every
    ``|psi(x)|^2 <= 2`` and the largest is ``>= 1``, so ``sum |psi|^2`` and the
    squared singular values are representable whatever the norm of the input
    (1e-300 or 1e300). A zero state (peak 0) stays 0 and gives NaN spectra.
    """
    m = _peak(psi, xp)[..., None]
    m = xp.where(m > 0, m, 1.0)
    if not xp.iscomplexobj(psi):
        return psi / m
    # parts divided separately: a complex division by a subnormal m overflows (Smith's algorithm)
    return xp.real(psi) / m + 1j * (xp.imag(psi) / m)


def _schmidt_matrices(psi, cut: Cut, xp=jnp) -> list:
    """Schmidt matrices ``[(B, rows, cols), ...]`` of a batch of states (``xp``: jax.numpy or numpy)."""
    if cut.kind == "product":
        q, n = cut.local_dim, cut.n_sites
        B = [s for s in range(n) if s not in cut.A]
        t = psi.reshape((psi.shape[0],) + (q,) * n)
        if list(cut.A) + B != list(range(n)):
            t = xp.transpose(t, (0,) + tuple(1 + s for s in cut.A) + tuple(1 + s for s in B))
        return [t.reshape(psi.shape[0], q ** len(cut.A), q ** len(B))]
    out = []
    for index, sign in cut.blocks:
        g = psi[:, np.maximum(index, 0)]
        out.append(g * xp.asarray(sign))           # sign is 0 where index == -1
    return out


def _block_probs(M, method: str, xp=jnp):
    rows, cols = M.shape[-2:]
    if method == "auto":
        method = "gram" if max(rows, cols) >= 8 * min(rows, cols) else "svd"
    if method == "svd":
        s = xp.linalg.svd(M, compute_uv=False)
        return s * s
    Mh = xp.conj(xp.swapaxes(M, -1, -2))
    G = M @ Mh if rows <= cols else Mh @ M
    if method == "eigh":
        return xp.clip(xp.linalg.eigvalsh(G), 0.0, None)
    return xp.linalg.svd(G, compute_uv=False)       # "gram": G is PSD, singular values = eigenvalues


def _probs_core(psi, cut: Cut, method: str, xp=jnp):
    psi = _rescale(psi, xp)                         # scale-free: no overflow/underflow in |psi|^2
    parts = [_block_probs(M, method, xp) for M in _schmidt_matrices(psi, cut, xp)]
    p = xp.concatenate(parts, axis=-1) if len(parts) > 1 else parts[0]
    tot = xp.sum(p, axis=-1, keepdims=True)
    p = p / xp.where(tot > 0, tot, xp.nan)          # a zero state: NaN, never a fake S = 0
    return -xp.sort(-p, axis=-1)


@partial(jax.jit, static_argnums=(1, 2))
def _probs_jit(psi, cut, method):
    return _probs_core(psi, cut, method)


def schmidt_probabilities(psi, cut: Cut, *, method: str = "auto") -> jnp.ndarray:
    """The Schmidt spectrum (eigenvalues of ρ_A of the normalized state), descending.

    Arguments:
        psi: amplitudes ``(dim,)`` or a batch ``(B, dim)`` in the basis of ``cut``
            (any normalization, real or complex).
        cut: the bipartition (:func:`product_cut`, :func:`basis_cut`, :func:`system_cut`).
        method: ``"auto"``, ``"svd"``, ``"gram"`` or ``"eigh"`` (module doc).

    Returns:
        float64 array ``(cut.rank_bound,)`` or ``(B, cut.rank_bound)`` summing to 1.
    """
    check_choice("method", method, METHODS)
    arr, single = as_states(psi, cut.dim)
    p = _probs_jit(arr, cut, method) if arr.size >= JIT_MIN_SIZE else _probs_core(np.asarray(arr), cut, method, np)
    return p[0] if single else p


def check_order(order) -> float:
    """Validate a Rényi order: a number ``> 0`` (``1``: von Neumann) or ``inf``."""
    try:
        n = float(order)
    except (TypeError, ValueError):
        raise InputError(f"Renyi order must be a number > 0 or inf, got {order!r}") from None
    if math.isnan(n) or n <= 0:
        raise InputError(f"Renyi order must be > 0 (or inf), got {order!r}")
    return n


def _renyi_core(p, n: float, xp=jnp):
    if n == 1.0:
        S = -xp.sum(xp.where(p > 0, p * xp.log(xp.where(p > 0, p, 1.0)), 0.0), axis=-1)
    elif math.isinf(n):
        S = -xp.log(xp.max(p, axis=-1))
    else:
        S = xp.log(xp.sum(xp.where(p > 0, p, 0.0) ** n, axis=-1)) / (1.0 - n)
    # NaN spectra (a zero state, see _probs_core) give NaN entropies, not the 0 of the masks above
    return xp.where(xp.isnan(xp.sum(p, axis=-1)), xp.nan, S)


def renyi_entropy(p, order=1) -> jnp.ndarray:
    """Rényi entropy :math:`S_n` (natural log) of probability vectors ``p`` (last axis).

    Arguments:
        p: Schmidt spectra ``(..., k)``, non-negative, each summing to 1.
        order: n > 0; ``1`` gives von Neumann :math:`-\\sum p\\log p`, ``inf`` gives
            :math:`-\\log\\max p`.

    Returns:
        array ``(...)``.
    """
    n = check_order(order)
    if isinstance(p, jax.Array):
        return _renyi_core(p.astype(jnp.float64), n)
    return _renyi_core(np.asarray(p, dtype=np.float64), n, np)


def entropies(psi, cut: Cut, orders=(1, 2), *, method: str = "auto") -> dict:
    """Rényi entropies of one or many states across one cut.

    Arguments:
        psi: ``(dim,)`` or ``(B, dim)`` amplitudes (normalized internally).
        cut: the bipartition.
        orders: Rényi orders (``1`` = von Neumann).
        method: ``"auto"``, ``"svd"``, ``"gram"`` or ``"eigh"``.

    Returns:
        ``{order: S}`` with ``S`` a float or a ``(B,)`` array.
    """
    orders = [check_order(n) for n in orders]
    p = schmidt_probabilities(psi, cut, method=method)
    xp = jnp if isinstance(p, jax.Array) else np
    return {n: _renyi_core(p, n, xp) for n in orders}


def _purity_core(psi, cut: Cut, xp=jnp):
    psi = _rescale(psi, xp)
    tot = 0.0
    for M in _schmidt_matrices(psi, cut, xp):
        rows, cols = M.shape[-2:]
        Mh = xp.conj(xp.swapaxes(M, -1, -2))
        G = M @ Mh if rows <= cols else Mh @ M
        tot = tot + xp.sum(xp.abs(G) ** 2, axis=(-2, -1))
    return tot / xp.sum(xp.abs(psi) ** 2, axis=-1) ** 2


@partial(jax.jit, static_argnums=(1,))
def _purity_jit(psi, cut):
    return _purity_core(psi, cut)


def purities(psi, cut: Cut) -> jnp.ndarray:
    """:math:`\\mathrm{Tr}\\,\\rho_A^2` of the normalized state(s), without a decomposition.

    Computed as :math:`\\|M M^\\dagger\\|_F^2 / \\|\\psi\\|^4`; ``S_2 = -log`` of it.

    Returns:
        a float or a ``(B,)`` array.
    """
    arr, single = as_states(psi, cut.dim)
    out = _purity_jit(arr, cut) if arr.size >= JIT_MIN_SIZE else _purity_core(np.asarray(arr), cut, np)
    return out[0] if single else out


def _curve_core(psi, cuts, orders, method, xp=jnp):
    out = {n: [] for n in orders}
    for cut in cuts:
        p = _probs_core(psi, cut, method, xp)
        for n in orders:
            out[n].append(_renyi_core(p, n, xp))
    return {n: xp.stack(v, axis=-1) for n, v in out.items()}


@partial(jax.jit, static_argnums=(1, 2, 3))
def _curve_jit(psi, cuts, orders, method):
    return _curve_core(psi, cuts, orders, method)


def entropy_curve(psi, cuts: Sequence[Cut], orders=(1, 2), *, method: str = "auto") -> dict:
    """Entropies of a batch of states across several cuts (one compiled call for large batches).

    Arguments:
        psi: ``(B, dim)`` amplitudes (or ``(dim,)``).
        cuts: cuts on the same basis, e.g. :func:`prefix_cuts`.
        orders: Rényi orders.
        method: ``"auto"``, ``"svd"``, ``"gram"`` or ``"eigh"``.

    Returns:
        ``{order: S}`` with ``S`` of shape ``(B, len(cuts))`` (or ``(len(cuts),)``).
    """
    check_choice("method", method, METHODS)
    cuts = tuple(cuts)
    if not cuts:
        raise InputError("no cuts given")
    dims = {c.dim for c in cuts}
    if len(dims) != 1:
        raise InputError(f"cuts refer to bases of different sizes {sorted(dims)}")
    orders = tuple(check_order(n) for n in orders)
    arr, single = as_states(psi, cuts[0].dim)
    out = (_curve_jit(arr, cuts, orders, method) if arr.size >= JIT_MIN_SIZE
           else _curve_core(np.asarray(arr), cuts, orders, method, np))
    return {n: (v[0] if single else v) for n, v in out.items()}
