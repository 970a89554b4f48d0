r"""Entanglement of ensembles of randomly initialized networks (sec. 3 of Luo–Halverson, Fig. 1).

An ensemble member is :math:`\psi = \psi_1 + i\psi_2` from a
:class:`~qsntk.nets.RealImagPair` of two independent networks, evaluated on the
whole basis and normalized; :func:`ensemble_entropies` returns :math:`S_n(|A|)`
for every draw, batched: parameters for a chunk of draws are initialized with
``jax.vmap`` over keys, the networks are evaluated for all draws at once, and
the Schmidt spectra of all cuts come from batched SVDs (see :class:`EnsembleSpec`).

**Randomness.** Draw ``i`` uses ``fold_in(PRNGKey(seed), i)`` as the key of
``model.init``, whatever the chunking, so resumed or re-chunked runs reproduce
each other exactly.

**Architectures** (:func:`network_pair`):

* ``cosnet`` -- :class:`~qsntk.nets.CosNet`, eq. 3 (with the correction noted in
  :mod:`qsntk.nets.features`): :math:`f = \sum_i a_i\cos(w_i\cdot x + b_i)`,
  kernel eq. 4. σ_w → ∞ gives i.i.d. amplitudes (Page).
* ``gaussnet`` -- :class:`~qsntk.nets.GaussNet`, the dual with the same kernel.
* ``relu`` -- the paper's one-hidden-layer ReLU net (sec. 6; ``sigma_w`` and
  ``sigma_b`` are its W_std = 0.5 and b_std = 0.1 by default).

**Factorized evaluation on product bases.** For CosNet the pre-activation splits
over the sites, :math:`w\cdot x = w_L\cdot x_L + w_R\cdot x_R`, so on the product
basis :math:`\cos(u_L + b + u_R) = \cos(u_L+b)\cos u_R - \sin(u_L+b)\sin u_R` and
the amplitudes, as a :math:`q^{n_L}\times q^{n_R}` matrix, are one matrix product

.. math::  \Psi = [\cos(U_L + b),\ -\sin(U_L + b)]\ \mathrm{diag}(a, a)\ [\cos U_R,\ \sin U_R]^T,

where the columns come from :math:`e^{i(u_L + b)}` and :math:`e^{iu_R}`, built as
Kronecker products of the per-site phases :math:`e^{i w_j v}` (:math:`q\,n + 1`
complex exponentials per hidden unit instead of :math:`q^n` cosines; the rest
is the one batched matrix product). Gauss-net factorizes the same way
(:math:`e^{u} = \prod_j e^{w_j x_j}`, and its norm factor
:math:`e^{-\sigma_w^2|x|^2/d}` splits over sites too). It also shows that one real CosNet has
Schmidt rank at most :math:`2N` across any cut. Other networks use the generic
``vmap(model.apply)`` path; tests pin the two against each other.
"""

from __future__ import annotations

import math
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from qsntk.entanglement._trig import sincos
from qsntk.entanglement.entropy import Cut, _probs_core, _renyi_core, check_order, prefix_cuts
from qsntk.entanglement.gp import product_inputs
from qsntk.errors import InputError, check_choice, check_int_at_least, check_positive
from qsntk.progress import no_progress

__all__ = ["NETS", "network_pair", "draw_params", "amplitudes", "features", "amplitudes_from_features",
           "unit_block", "sample_states", "describe",
           "ensemble_entropies", "summarize", "EnsembleSpec", "chunk_size"]

NETS = ("cosnet", "gaussnet", "relu")

#: default hyperparameters per architecture
DEFAULTS = {
    "cosnet": dict(sigma_a=1.0, sigma_w=1.0),
    "gaussnet": dict(sigma_a=1.0, sigma_w=1.0, sigma_b=0.0, sigma_out=0.0),
    "relu": dict(sigma_w=0.5, sigma_b=0.1),
}


def network_pair(net: str, width: int, **hyper):
    """``ψ = ψ1 + iψ2`` from two independent networks of one architecture.

    Arguments:
        net: ``"cosnet"``, ``"gaussnet"`` or ``"relu"``.
        width: hidden units N.
        **hyper: ``sigma_a``, ``sigma_w`` (CosNet, Gauss-net; ``sigma_w`` is W_std
            for relu), ``sigma_b`` (Gauss-net hidden bias; b_std for relu),
            ``sigma_out`` (Gauss-net output bias). Missing ones take :data:`DEFAULTS`.

    Returns:
        a :class:`~qsntk.nets.RealImagPair`.
    """
    from qsntk.nets import CosNet, FCNet, GaussNet, RealImagPair

    check_choice("net", net, NETS)
    width = check_int_at_least("width", width, 1)
    unknown = set(hyper) - set(DEFAULTS[net])
    if unknown:
        raise InputError(f"net {net!r} takes no hyperparameter {sorted(unknown)[0]!r}; "
                         f"its hyperparameters are {', '.join(DEFAULTS[net])}")
    h = {**DEFAULTS[net], **{k: float(v) for k, v in hyper.items() if v is not None}}
    for k, v in h.items():
        check_positive(k, v, strict=False)
    if net == "cosnet":
        make = lambda: CosNet(width=width, sigma_a=h["sigma_a"], sigma_w=h["sigma_w"])
    elif net == "gaussnet":
        make = lambda: GaussNet(width=width, sigma_a=h["sigma_a"], sigma_w=h["sigma_w"],
                                sigma_b=h["sigma_b"], sigma_out=h["sigma_out"])
    else:
        make = lambda: FCNet(widths=(width,), activation="relu", W_std=h["sigma_w"], b_std=h["sigma_b"])
    return RealImagPair(re=make(), im=make())


#: compiled functions shared by all calls (keys: model repr, shapes, static settings)
_JITS: dict = {}


def _cached_jit(key, make):
    fn = _JITS.get(key)
    if fn is None:
        if len(_JITS) > 64:
            _JITS.clear()
        fn = _JITS[key] = jax.jit(make())
    return fn


def _draw_params(model, d, indices, key):
    x0 = jnp.zeros((1, d), jnp.float64)
    keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.asarray(indices))
    return jax.vmap(lambda k: model.init(k, x0))(keys)


def draw_params(model, d: int, indices, *, key):
    """Parameters of draws ``indices`` (batched along axis 0), draw i from ``fold_in(key, i)``.

    ``jax.vmap`` of ``model.init`` over the draw keys (compiled once per model and batch size).
    """
    if isinstance(key, jax.core.Tracer) or isinstance(indices, jax.core.Tracer):
        return _draw_params(model, d, indices, key)
    fn = _cached_jit(("init", repr(model), int(d)), lambda: lambda k, i: _draw_params(model, d, i, k))
    return fn(key, jnp.asarray(indices))


# ---------------------------------------------------------------- evaluation
def _site_trig(w, vals, b=None):
    """cos and sin of ``w_j v`` (plus ``b`` on site 0) for every site j and local value v.

    Arguments:
        w: ``(..., d, N)`` effective input weights; vals: the ``q`` local values;
        b: optional ``(..., N)`` phases added to site 0's angle.

    Returns:
        ``(c, s)``, each ``(..., d, q, N)``. On the sites without ``b`` the
        trigonometric functions are evaluated only on the distinct ``|v|`` (cos is
        even, sin odd): 2 per site and hidden unit for spins. Folding ``b`` into
        site 0 keeps every later step free of transcendental calls.
    """
    vals = np.asarray(vals, dtype=np.float64)
    absv, inv = np.unique(np.abs(vals), return_inverse=True)
    inv = inv.ravel()
    first = 0 if b is None else 1
    arg = w[..., first:, None, :] * jnp.asarray(absv)[:, None]
    c, s = sincos(arg)
    c = jnp.concatenate([c[..., int(inv[k]):int(inv[k]) + 1, :] for k in range(len(vals))], axis=-2)
    s = jnp.concatenate([s[..., int(inv[k]):int(inv[k]) + 1, :] * float(np.sign(vals[k]))
                         for k in range(len(vals))], axis=-2)
    if b is not None:
        c0, s0 = sincos(w[..., :1, None, :] * jnp.asarray(vals)[:, None] + b[..., None, None, :])
        c = jnp.concatenate([c0, c], axis=-3)
        s = jnp.concatenate([s0, s], axis=-3)
    return c, s


def _outer(t1, t2):
    """Kronecker product over configurations: ``(..., m, N) x (..., k, N) -> (..., m*k, N)``."""
    return (t1[..., :, None, :] * t2[..., None, :, :]).reshape(t1.shape[:-2] + (-1, t1.shape[-1]))


def _phase_table(c, s):
    """``cos`` and ``sin`` of ``Σ_j w_j x_j`` over all configurations of the sites of ``c, s``.

    Arguments:
        c, s: ``(..., k, q, N)`` per-site cos/sin (:func:`_site_trig`), k >= 0.

    Returns:
        ``(C, S)``, each ``(..., q**k, N)``, site 0 slowest, by angle addition over a
        balanced tree of site groups (no trigonometric calls).
    """
    k = c.shape[-3]
    if k == 0:
        shape = c.shape[:-3] + (1, c.shape[-1])
        return jnp.ones(shape, c.dtype), jnp.zeros(shape, c.dtype)
    if k == 1:
        return c[..., 0, :, :], s[..., 0, :, :]
    h = k // 2
    c1, s1 = _phase_table(c[..., :h, :, :], s[..., :h, :, :])
    c2, s2 = _phase_table(c[..., h:, :, :], s[..., h:, :, :])
    return _outer(c1, c2) - _outer(s1, s2), _outer(s1, c2) + _outer(c1, s2)


def _product_table(f):
    """``prod_j f[..., j, x_j, :]`` over all configurations: ``(..., k, q, N) -> (..., q**k, N)``."""
    k = f.shape[-3]
    if k == 0:
        return jnp.ones(f.shape[:-3] + (1, f.shape[-1]), f.dtype)
    if k == 1:
        return f[..., 0, :, :]
    h = k // 2
    return _outer(_product_table(f[..., :h, :, :]), _product_table(f[..., h:, :, :]))


def _groups(n_sites: int) -> list[tuple[int, int]]:
    """Four site groups ``L1 L2 | R1 R2``; the matrix of amplitudes is ``(L1 L2) x (R1 R2)``."""
    nL = n_sites // 2
    mR = nL + (n_sites - nL) // 2
    return [(0, nL // 2), (nL // 2, nL), (nL, mR), (mR, n_sites)]


def _blocks(t, nb: int):
    """``(B, ..., N) -> (n_blocks, B, ..., nb)``: hidden units split into blocks (N padded with 0)."""
    N = t.shape[-1]
    nblk = -(-N // nb)
    if nblk * nb != N:
        t = jnp.concatenate([t, jnp.zeros(t.shape[:-1] + (nblk * nb - N,), t.dtype)], axis=-1)
    t = t.reshape(t.shape[:-1] + (nblk, nb))
    return jnp.moveaxis(t, -2, 0)


def _hyper_vector(module):
    """The σ's of one part as a float array: CosNet ``(σ_w, σ_a)``, Gauss-net ``(σ_w, σ_a, σ_b, σ_out)``."""
    from qsntk.nets import CosNet

    if isinstance(module, CosNet):
        return np.array([module.sigma_w, module.sigma_a])
    return np.array([module.sigma_w, module.sigma_a, module.sigma_b, module.sigma_out])


def _cos_features(module, p, vals, n_sites, nb, h):
    """Stage 1 of a CosNet part: per-site cos/sin (b folded into site 0) and readout weights,
    with hidden units in blocks of ``nb``: ``c, s`` ``(n_blocks, B, d, q, nb)``, ``a`` ``(n_blocks, B, nb)``.

    ``h = (σ_w, σ_a)`` (may be traced: one compilation serves a σ_w scan). Padded
    units have ``a = 0`` and so contribute nothing.
    """
    d = n_sites
    w, a, b = p["w"], p["a"], p["b"]
    if module.parameterization == "ntk":
        w = w * (h[0] / math.sqrt(d))
        a = a * (h[1] / math.sqrt(module.width))
    c, s = _site_trig(_blocks(w, nb), vals, _blocks(b, nb))
    return {"c": c, "s": s, "a": _blocks(a, nb)}


def _gauss_features(module, p, vals, n_sites, nb, h):
    """Stage 1 of a Gauss-net part: per-site factors ``exp(w_j v - σ_w² v²/d)``, the left scale
    ``a e^{b - σ_b²}`` (0 on padded units) and the output bias, in unit blocks of ``nb``;
    ``h = (σ_w, σ_a, σ_b, σ_out)``.

    **Log domain.** At large σ_w every amplitude is tiny (``~e^{-σ_w²}``: 1e-27 at σ_w = 10,
    below the smallest double at σ_w = 30), so the factors are formed as logarithms and
    rescaled: each site's factor is divided by its largest value over the local states, and
    the scales by ``e^c`` with ``c = max_i [log|a_i e^{b_i - σ_b²}| + Σ_j max_v log f_ij(v)]``
    (per draw), the log of the largest term ``|a_i ∏_j f_ij(x_j)|`` over units and
    configurations. The rescaled terms are at most 1 (one equals 1), and ``c`` is returned
    as ``"logc"`` (amplitudes = ``e^{logc}`` × the rescaled matrix + bias).
    """
    d = n_sites
    ntk = module.parameterization == "ntk"
    w, a, b = p["w"], p["a"], p["b"]
    if ntk:
        w = w * (h[0] / math.sqrt(d))
        a = a * (h[1] / math.sqrt(module.width))
        b = b * h[2]
    sw = h[0] ** 2 / d
    v = jnp.asarray(vals, jnp.float64)[:, None]
    wb = _blocks(w, nb)
    lf = wb[..., :, None, :] * v - sw * v * v                       # (n_blocks, B, d, q, nb)
    top = jnp.max(lf, axis=-2, keepdims=True)
    f = jnp.exp(lf - top)
    ab = _blocks(a, nb)
    lscale = (jnp.log(jnp.abs(ab)) + _blocks(b, nb) - h[2] ** 2
              + jnp.sum(top[..., 0, :], axis=-2))                   # (n_blocks, B, nb); -inf: a = 0
    c = jnp.max(jnp.max(lscale, axis=-1), axis=0)                   # (B,)
    c = jnp.where(jnp.isfinite(c), c, 0.0)                          # all a = 0: psi part = 0 (+ bias)
    out = {"f": f, "scale": jnp.sign(ab) * jnp.exp(lscale - c[:, None]), "logc": c}
    if module.sigma_out > 0:
        out["beta"] = p["beta"] * h[3] if ntk else p["beta"]
    return out


def _scan_blocks(body, xs, shape, dtype):
    return jax.lax.scan(lambda acc, x: (acc + body(x), None), jnp.zeros(shape, dtype), xs)[0]


def _cos_matrix(f, n_sites):
    """Stage 2 of a CosNet part: ``(B, q^nL, q^nR) = C_L diag(a) C_R^T - S_L diag(a) S_R^T``.

    The four group tables are built first (materialized as inputs of the scan);
    each step of the scan over unit blocks forms the left/right tables of one
    block (small enough to stay in cache) and adds two batched matrix products.
    """
    g = _groups(n_sites)
    tabs = [_phase_table(f["c"][..., i:j, :, :], f["s"][..., i:j, :, :]) for i, j in g]

    def body(x):
        (c1, s1), (c2, s2), (c3, s3), (c4, s4), a = x
        c1, s1 = c1 * a[..., None, :], s1 * a[..., None, :]
        CL, SL = _outer(c1, c2) - _outer(s1, s2), _outer(s1, c2) + _outer(c1, s2)
        CR, SR = _outer(c3, c4) - _outer(s3, s4), _outer(s3, c4) + _outer(c3, s4)
        return jnp.matmul(CL, jnp.swapaxes(CR, -1, -2)) - jnp.matmul(SL, jnp.swapaxes(SR, -1, -2))

    B = f["a"].shape[1]
    rows = tabs[0][0].shape[-2] * tabs[1][0].shape[-2]
    cols = tabs[2][0].shape[-2] * tabs[3][0].shape[-2]
    return _scan_blocks(body, (*tabs, f["a"]), (B, rows, cols), f["a"].dtype)


def _gauss_matrix(f, n_sites):
    """Stage 2 of a Gauss-net part: ``(X, C)`` with amplitudes ``e^C X``, ``X`` ``(B, q^nL, q^nR)``
    (``C`` ``(B,)``: ``max(logc, log|β|)``, see :func:`_gauss_features`), same blocking as
    :func:`_cos_matrix`."""
    g = _groups(n_sites)
    tabs = [_product_table(f["f"][..., i:j, :, :]) for i, j in g]

    def body(x):
        t1, t2, t3, t4, scale = x
        L = _outer(t1 * scale[..., None, :], t2)
        R = _outer(t3, t4)
        return jnp.matmul(L, jnp.swapaxes(R, -1, -2))

    B = f["scale"].shape[1]
    rows = tabs[0].shape[-2] * tabs[1].shape[-2]
    cols = tabs[2].shape[-2] * tabs[3].shape[-2]
    out = _scan_blocks(body, (*tabs, f["scale"]), (B, rows, cols), f["scale"].dtype)
    C = f["logc"]
    if "beta" in f:
        beta = f["beta"]
        C = jnp.maximum(C, jnp.log(jnp.abs(beta)))
        out = out * jnp.exp(f["logc"] - C)[:, None, None] + (beta * jnp.exp(-C))[:, None, None]
    return out, C


def _factorizable(model) -> bool:
    from qsntk.nets import CosNet, GaussNet, RealImagPair

    return (isinstance(model, RealImagPair)
            and all(isinstance(m, (CosNet, GaussNet)) for m in (model.re, model.im)))


def unit_block(n_draws: int, n_sites: int, local_dim: int = 2, *, budget_bytes: int = 2**20) -> int:
    """Hidden units per block so that one block's four tables take about ``budget_bytes``."""
    side = max(local_dim ** (n_sites // 2), local_dim ** (n_sites - n_sites // 2))
    return int(max(8, min(4096, budget_bytes // (4 * 8 * n_draws * side))))


def features(model, params, *, n_sites: int, local_values=(1.0, -1.0), nb: int | None = None,
             hyper=None) -> dict:
    """Stage 1 of the factorized evaluation: every transcendental function, per site and unit.

    Arguments:
        model: a ``RealImagPair`` of CosNet / Gauss-net parts.
        params: batched parameters (:func:`draw_params`), leading axis B.
        nb: hidden units per block (default :func:`unit_block`).
        hyper: optional ``{"re": h, "im": h}`` σ vectors (:func:`_hyper_vector`) overriding
            the modules' values (NTK parameterization; lets one compilation serve many σ's).

    Returns:
        ``{"re": …, "im": …}`` with arrays ``(n_blocks, B, d, q, nb)`` per part.
    """
    from qsntk.nets import CosNet

    vals = np.asarray(local_values, np.float64)
    pp = params["params"]
    B = jax.tree_util.tree_leaves(pp)[0].shape[0]
    nb = unit_block(B, n_sites, len(vals)) if nb is None else nb
    out = {}
    for k, m in (("re", model.re), ("im", model.im)):
        h = _hyper_vector(m) if hyper is None else hyper[k]
        out[k] = (_cos_features if isinstance(m, CosNet) else _gauss_features)(m, pp[k], vals, n_sites, nb, h)
    return out


def amplitudes_from_features(model, feats, *, n_sites: int, scaled: bool = False):
    """Stage 2: amplitudes ``(B, q**n_sites)`` from :func:`features` (products only).

    ``scaled=True``: each draw divided by a positive factor (Gauss-net parts are computed in
    the log domain, :func:`_gauss_features`), so that amplitudes far below the smallest
    double (Gauss-net at large σ_w) stay representable; the normalized states are the same.
    """
    from qsntk.nets import CosNet

    parts = []
    for k, m in (("re", model.re), ("im", model.im)):
        if isinstance(m, CosNet):
            X = _cos_matrix(feats[k], n_sites)
            parts.append((X, jnp.zeros(X.shape[:1], X.dtype)))
        else:
            parts.append(_gauss_matrix(feats[k], n_sites))
    (Xr, Cr), (Xi, Ci) = parts
    Cm = jnp.maximum(Cr, Ci)
    psi = Xr * jnp.exp(Cr - Cm)[:, None, None] + 1j * (Xi * jnp.exp(Ci - Cm)[:, None, None])
    if not scaled:
        psi = psi * jnp.exp(Cm)[:, None, None]
    return psi.reshape(psi.shape[0], -1)


def amplitudes(model, params, X=None, *, n_sites: int | None = None,
               local_values: Sequence[float] = (1.0, -1.0), factorized: bool | None = None,
               scaled: bool = False):
    """Amplitudes of a batch of draws, ``(B, n_states)`` complex (unnormalized).

    Arguments:
        model: a :class:`~qsntk.nets.RealImagPair` (or any flax module giving ψ).
        params: batched parameters (:func:`draw_params`).
        X: inputs ``(n_states, d)`` for the generic path; or ``None`` with
            ``n_sites`` and ``local_values`` for the full product basis.
        factorized: use the factorized CosNet/Gauss-net evaluation (default: when
            possible, i.e. product basis and CosNet/Gauss-net parts).
        scaled: factorized path only: each draw divided by a positive factor that keeps
            tiny Gauss-net amplitudes representable (:func:`amplitudes_from_features`).

    Returns:
        complex array ``(B, n_states)``.
    """
    product = X is None
    if product:
        if n_sites is None:
            raise InputError("amplitudes needs X or n_sites")
        if factorized is None:
            factorized = _factorizable(model) and n_sites >= 2
    elif factorized:
        raise InputError("the factorized evaluation needs the full product basis (X=None)")
    vals = tuple(float(v) for v in local_values)
    Xn = product_inputs(n_sites, vals) if (product and not factorized) else (None if product else np.asarray(X))
    traced = any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves(params))

    def fn(params):
        if factorized:
            feats = features(model, params, n_sites=n_sites, local_values=vals)
            return amplitudes_from_features(model, feats, n_sites=n_sites, scaled=scaled)
        Xj = jnp.asarray(Xn, jnp.float64)
        return jax.vmap(lambda p: model.apply(p, Xj) + 0j)(params)

    if traced:
        return fn(params)
    xkey = None if Xn is None else (Xn.shape, hash(Xn.tobytes()))
    return _cached_jit(("amplitudes", repr(model), n_sites, vals, bool(factorized), bool(scaled), xkey),
                       lambda: fn)(params)


def _template(model):
    """The model with its σ's replaced by canonical values when they only scale parameters.

    In the NTK parameterization ``model.init`` draws standard-normal (and uniform)
    parameters whatever the σ's, so every σ gives the same parameter draws and the
    σ's can be passed to the compiled stage 1 as numbers. Returns ``None`` when
    that does not hold (standard parameterization).
    """
    from qsntk.nets import CosNet, RealImagPair

    parts = []
    for m in (model.re, model.im):
        if m.parameterization != "ntk":
            return None
        if isinstance(m, CosNet):
            parts.append(CosNet(width=m.width, sigma_a=1.0, sigma_w=1.0))
        else:
            parts.append(type(m)(width=m.width, sigma_a=1.0, sigma_w=1.0, sigma_b=1.0,
                                 sigma_out=1.0 if m.sigma_out > 0 else 0.0))
    return RealImagPair(re=parts[0], im=parts[1])


class EnsembleSpec:
    """What one chunk of draws computes: model, basis, cuts, orders.

    A chunk runs as two compiled calls. Stage 1 draws the parameters and, on
    the factorized path, evaluates every transcendental function (per site and
    hidden unit); stage 2 builds the Kronecker tables, does the batched matrix
    products and the batched SVDs. The split is deliberate: inside one XLA
    computation the CPU compiler fuses the cosines into the broadcasting table
    products and recomputes them for every table entry (it drops
    ``optimization_barrier``), which costs more than the matrix products.
    Compiled stages are cached at module level: stage 2 is shared by all σ's
    and stage 1 too in the NTK parameterization (σ's passed as numbers).
    """

    def __init__(self, model, *, n_sites, cuts, orders, local_values=(1.0, -1.0), X=None,
                 factorized=None, method="auto"):
        self.model, self.n_sites, self.cuts, self.orders = model, n_sites, tuple(cuts), tuple(orders)
        self.local_values, self.X, self.method = tuple(float(v) for v in local_values), X, method
        self.factorized = (_factorizable(model) and X is None and n_sites >= 2) if factorized is None \
            else factorized
        self.d = n_sites if X is None else np.asarray(X).shape[1]
        self.template = _template(model) if self.factorized else None
        if self.factorized:
            self.hyper = {k: jnp.asarray(_hyper_vector(m)) for k, m in (("re", model.re), ("im", model.im))}

    def stage1(self, key, idx, hyper=None, nb=None):
        """Parameters of draws ``idx`` (generic path) or their per-site features (factorized)."""
        model = self.model if (hyper is None or self.template is None) else self.template
        params = draw_params(model, self.d, idx, key=key)
        if self.factorized:
            return features(self.model, params, n_sites=self.n_sites, local_values=self.local_values,
                            nb=nb, hyper=hyper)
        return params

    def amplitudes(self, out1):
        """Stage 2a: amplitudes ``(B, n_states)`` from :meth:`stage1`'s output."""
        if self.factorized:
            return amplitudes_from_features(self.model, out1, n_sites=self.n_sites, scaled=True)
        return amplitudes(self.model, out1, self.X, n_sites=self.n_sites,
                          local_values=self.local_values, factorized=False)

    def psi(self, key, idx):
        return self.amplitudes(self.stage1(key, idx))

    def entropies(self, psi):
        out = {n: [] for n in self.orders}
        for cut in self.cuts:
            p = _probs_core(psi, cut, self.method)
            for n in self.orders:
                out[n].append(_renyi_core(p, n))
        return jnp.stack([jnp.stack(out[n], axis=-1) for n in self.orders])

    def _jits(self):
        if hasattr(self, "_j1"):
            return self._j1, self._j2
        common = (self.n_sites, self.cuts, self.orders, self.local_values, self.method)
        if not self.factorized:
            model, d, spec = self.model, self.d, self
            j_init = _cached_jit(("init", repr(model), int(d)), lambda: lambda k, i: _draw_params(model, d, i, k))
            key = ("generic", repr(self.model), common,
                   None if self.X is None else hash(np.asarray(self.X).tobytes()))
            self._j1 = lambda k, i: j_init(k, jnp.asarray(i))
            self._j2 = _cached_jit(key, lambda: lambda p: spec.entropies(spec.amplitudes(p)))
            return self._j1, self._j2
        kinds = tuple((type(m).__name__, getattr(m, "sigma_out", 0.0) > 0, m.parameterization)
                      for m in (self.model.re, self.model.im))
        shared = self.template is not None
        m1 = self.template if shared else self.model
        model, n_sites, vals = self.model, self.n_sites, self.local_values
        # parameter draws: the same compiled function as draw_params (shared by every sigma)
        j_init = _cached_jit(("init", repr(m1), int(self.d)), lambda: lambda k, i: _draw_params(m1, self.d, i, k))
        j_feat = _cached_jit(("features", kinds, repr(m1) if not shared else "", n_sites, vals),
                             lambda: lambda p, h: features(model, p, n_sites=n_sites, local_values=vals,
                                                           hyper=h))
        spec = self
        j2 = _cached_jit(("stage2", kinds, common),
                         lambda: lambda o: spec.entropies(spec.amplitudes(o)))
        hyper = self.hyper if shared else {k: jnp.asarray(v) for k, v in self.hyper.items()}
        self._j1 = lambda k, i: j_feat(j_init(k, jnp.asarray(i)), hyper)
        self._j2 = j2
        return self._j1, self._j2

    def run(self, key, idx):
        """Entropies ``(n_orders, B, n_cuts)`` of draws ``idx``: two compiled calls."""
        j1, j2 = self._jits()
        return j2(j1(key, idx))


_SPECS: dict = {}


def _spec(model, n_sites, cuts, orders, local_values, X, method) -> "EnsembleSpec":
    """A cached :class:`EnsembleSpec` (its compiled functions are reused by later calls)."""
    xkey = None if X is None else (np.asarray(X).shape, hash(np.asarray(X).tobytes()))
    key = (repr(model), n_sites, cuts, orders, local_values, xkey, method)
    spec = _SPECS.get(key)
    if spec is None:
        if len(_SPECS) > 32:
            _SPECS.clear()
        spec = _SPECS[key] = EnsembleSpec(model, n_sites=n_sites, cuts=cuts, orders=orders,
                                          local_values=local_values, X=X, method=method)
    return spec


def chunk_size(model, n_states: int, *, factorized: bool, n_sites: int, local_dim: int = 2,
               budget_bytes: int | None = None) -> int:
    """Draws per chunk so that the largest intermediates stay within ``budget_bytes``.

    Factorized path: per-site features and group tables, ``O(N (d q + q^{n/4}))`` per draw
    (default budget 64 MB); generic path: the ``(n_states, N)`` hidden activations (256 MB).
    """
    width = max(getattr(model.re, "width", 0), max(getattr(model.re, "widths", (0,))))
    if factorized:
        budget = 2**26 if budget_bytes is None else budget_bytes
        quarter = local_dim ** (-(-n_sites // 4))
        per = 2 * 8 * width * (2 * n_sites * local_dim + 8 * quarter) + n_states * 16 * 4
    else:
        budget = 2**28 if budget_bytes is None else budget_bytes
        per = n_states * width * 8 * 4 + n_states * 16 * 4
    return int(max(1, min(256, budget // per)))


def sample_states(model, n_draws: int, *, seed: int = 0, n_sites: int | None = None, X=None,
                  local_values=(1.0, -1.0), first: int = 0) -> np.ndarray:
    """Normalized ensemble members ψ = ψ1 + iψ2 (draws ``first … first+n_draws-1``).

    Returns:
        complex128 array ``(n_draws, n_states)`` with unit norms.
    """
    n_draws = check_int_at_least("n_draws", n_draws, 1)
    d = n_sites if X is None else np.asarray(X).shape[1]
    params = draw_params(model, d, np.arange(first, first + n_draws), key=jax.random.PRNGKey(seed))
    psi = np.asarray(amplitudes(model, params, X, n_sites=n_sites, local_values=local_values,
                                scaled=X is None and _factorizable(model) and n_sites >= 2))
    _check_draws(model, np.all(psi == 0, axis=1) | ~np.all(np.isfinite(psi), axis=1), first)
    peak = np.max(np.maximum(np.abs(psi.real), np.abs(psi.imag)), axis=1, keepdims=True)
    psi = psi.real / peak + 1j * (psi.imag / peak)
    return psi / np.linalg.norm(psi, axis=1, keepdims=True)


def describe(model) -> str:
    """The network of an ensemble in words, e.g. ``GaussNet width 50, sigma_w 30``."""
    m = model.re
    width = getattr(m, "width", None) or getattr(m, "widths", "?")
    sw = getattr(m, "sigma_w", getattr(m, "W_std", None))
    return f"{type(m).__name__} width {width}" + ("" if sw is None else f", sigma_w {float(sw):g}")


def _check_draws(model, bad, first: int) -> None:
    """Refuse draws whose amplitudes are all zero or not finite (their entropy is undefined)."""
    bad = np.asarray(bad)
    if np.any(bad):
        raise InputError(f"{int(bad.sum())} of {bad.size} draws of {describe(model)} (first: draw "
                         f"{first + int(np.flatnonzero(bad)[0])}) have amplitudes that are all zero or not "
                         "finite (underflow/overflow at these hyperparameters): no entropy to report")


def ensemble_entropies(model, *, n_sites: int | None = None, n_draws: int, seed: int = 0,
                       cuts: Sequence[Cut] | None = None, orders=(1, 2),
                       local_values=(1.0, -1.0), system=None, first: int = 0,
                       chunk: int | None = None, method: str = "auto",
                       progress=no_progress, description: str = "ensemble") -> dict:
    """Rényi entropies of ``n_draws`` network draws across ``cuts`` (Fig. 1 of Luo–Halverson).

    Arguments:
        model: a :class:`~qsntk.nets.RealImagPair` (see :func:`network_pair`).
        n_sites: sites of the full product basis (spins: ``local_values=(+1, -1)``).
        n_draws: number of draws; draw i uses ``fold_in(PRNGKey(seed), i)``.
        cuts: product cuts (default: A = first k sites, k = 1 … n_sites − 1).
        orders: Rényi orders (1 = von Neumann).
        system: instead of ``n_sites``: a :class:`qsntk.physics.System` (inputs
            ``system.encode()``, cuts from :func:`qsntk.entanglement.sectors.system_cut`
            with Hubbard sites as 4-level sites; default cuts = prefixes).
        first: index of the first draw (to continue an ensemble).
        chunk: draws per chunk (default :func:`chunk_size`).
        method: spectrum method (:mod:`qsntk.entanglement.entropy`).
        progress: progress reporter factory.

    Returns:
        ``{order: S}`` with ``S`` float64 ``(n_draws, n_cuts)``.
    """
    from qsntk.entanglement.sectors import system_cut

    from qsntk.nets import RealImagPair

    if not isinstance(model, RealImagPair):
        raise InputError(f"ensemble_entropies takes a qsntk.nets.RealImagPair psi = psi1 + i psi2 of two "
                         f"real networks (network_pair), got {type(model).__name__}")
    n_draws = check_int_at_least("n_draws", n_draws, 1)
    orders = tuple(check_order(n) for n in orders)
    X = None
    if system is not None:
        X = system.encode()
        n_sites = system.n_sites
        if cuts is None:
            cuts = [system_cut(system, range(k)) for k in range(1, n_sites)]
        if not system.is_fermionic and not system.sz0:
            X = None                       # full spin basis: same states, product fast path
    elif n_sites is None:
        raise InputError("ensemble_entropies needs n_sites or system")
    local_dim = len(local_values)
    if cuts is None:
        cuts = prefix_cuts(n_sites, local_dim=local_dim)
    spec = _spec(model, n_sites, tuple(cuts), orders, tuple(float(v) for v in local_values), X, method)
    n_states = (local_dim**n_sites) if X is None else X.shape[0]
    for c in spec.cuts:
        if c.dim != n_states:
            raise InputError(f"{c} does not match the basis of {n_states} states")
    if chunk is None:
        chunk = chunk_size(model, n_states, factorized=spec.factorized, n_sites=n_sites,
                           local_dim=local_dim)
    chunk = min(check_int_at_least("chunk", chunk, 1), n_draws)
    key = jax.random.PRNGKey(seed)
    out = np.empty((len(orders), n_draws, len(spec.cuts)))
    with progress(n_draws, description) as bar:
        for start in range(0, n_draws, chunk):
            stop = min(start + chunk, n_draws)
            idx = np.arange(first + start, first + start + chunk)   # fixed shape: one compile
            vals = np.asarray(spec.run(key, idx))
            out[:, start:stop] = vals[:, : stop - start]
            bar.advance(stop - start)
    # a draw whose amplitudes are all 0 (or not finite) gives NaN spectra: refuse, never report S
    _check_draws(model, np.any(np.isnan(out), axis=(0, 2)), first)
    return {n: out[i] for i, n in enumerate(orders)}


def summarize(S) -> dict:
    """Mean, standard deviation and standard error over draws (axis 0) of ``(n_draws, n_cuts)``."""
    S = np.asarray(S, dtype=np.float64)
    n = S.shape[0]
    std = S.std(axis=0, ddof=1) if n > 1 else np.zeros(S.shape[1:])
    return {"mean": S.mean(axis=0), "std": std, "se": std / math.sqrt(n)}
