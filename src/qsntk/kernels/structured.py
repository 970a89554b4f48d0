r"""Structured empirical NTK of fully connected networks: layer-wise GEMMs.

For a dense layer :math:`h_l = s_l\, a_{l-1} W_l + c_l\, b_l` (NTK
parameterization: :math:`s_l = \sigma_w/\sqrt{n_{l-1}}`, :math:`c_l = \sigma_b`;
standard: :math:`s_l = c_l = 1`) the parameter gradients factorize,
:math:`\partial f/\partial W_{l,ij} = s_l\, a_{l-1,i}\, \delta_{l,j}` with the
back-propagated vector :math:`\delta_l(x) = \partial f/\partial h_l(x)`, so the
tangent kernel is a sum of Hadamard products of Gram matrices,

.. math::  K_{ab}(x,x') = \sum_{l=1}^{L} \big(s_l^2\, a_{l-1}\!\cdot a'_{l-1} + c_l^2\big)
           \big(\delta^a_l \cdot \delta'^b_l\big)
           + \delta_{ab}\big(s_{L+1}^2\, a_L\!\cdot a'_L + c_{L+1}^2\big),

two GEMMs per hidden layer instead of a contraction of two
:math:`n \times P` Jacobians. For a symmetric kernel (``x2=None``) only the
blocks on and above the diagonal are computed (``n_blocks`` row blocks: a
fraction :math:`(n_b+1)/(2n_b)` of the GEMM work).

Memory: the per-layer activations and back-propagated vectors,
:math:`O(n \sum_l N_l)`, plus the :math:`n_1 \times n_2` output; a job whose lower
bound (:func:`memory_lower_bound`) exceeds physical memory is refused with
:class:`~qsntk.errors.InputError` before any work.

Precision: parameters and inputs are computed at qsntk's precision, as in
:mod:`qsntk.kernels.empirical` (lower-precision floating leaves promoted to float64
under the default precision, see :func:`qsntk.kernels.empirical.at_precision`).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from qsntk.errors import InputError, check_memory
from qsntk.nets.activations import get_activation
from qsntk.nets.fc import FCNet, dense_layers
from qsntk.nets.wavefunctions import ComplexFCNet, RealImagPair


def _scales(layer, n_in, W_std, b_std, parameterization):
    ntk = parameterization == "ntk"
    s = W_std / jnp.sqrt(n_in) if ntk else 1.0
    c = 0.0 if "bias" not in layer else (b_std if ntk else 1.0)
    return s, c


def _features(layers, x, activation, W_std, b_std, parameterization):
    """Forward and backward pass: inputs A_{l-1}, back-prop vectors Δ_l^a, scales."""
    phi = get_activation(activation)
    A, H, sc = [x], [], []
    for layer in layers[:-1]:
        s, c = _scales(layer, A[-1].shape[-1], W_std, b_std, parameterization)
        h = s * (A[-1] @ layer["kernel"]) + (c * layer["bias"] if "bias" in layer else 0.0)
        H.append(h)
        A.append(phi(h))
        sc.append((s, c))
    out = layers[-1]
    s_out, c_out = _scales(out, A[-1].shape[-1], W_std, b_std, parameterization)
    dphi = [jax.jvp(phi, (h,), (jnp.ones_like(h),))[1] for h in H]
    n_out = out["kernel"].shape[1]
    deltas = []  # deltas[a][l] for output a, hidden layer l
    for a in range(n_out):
        d = [None] * len(H)
        back = s_out * out["kernel"][:, a]  # (N_L,), same for every example
        d[-1] = dphi[-1] * back
        for l in range(len(H) - 2, -1, -1):
            s_next = sc[l + 1][0]
            d[l] = dphi[l] * (s_next * (d[l + 1] @ layers[l + 1]["kernel"].T))
        deltas.append(d)
    return A, deltas, sc, (s_out, c_out)


def _gram(a, b):
    return jax.lax.dot_general(a, b, (((1,), (1,)), ((), ())))


def _block(f1, f2, i, j):
    """K_ab on rows slice i of f1 and rows slice j of f2, shape (o, o, ni, nj)."""
    A1, D1, sc, (s_out, c_out) = f1
    A2, D2, _, _ = f2
    o = len(D1)
    read = s_out**2 * _gram(A1[-1][i], A2[-1][j]) + c_out**2
    G = [s**2 * _gram(A1[l][i], A2[l][j]) + c**2 for l, (s, c) in enumerate(sc)]
    rows = []
    for a in range(o):
        row = []
        for b in range(o):
            k = sum(G[l] * _gram(D1[a][l][i], D2[b][l][j]) for l in range(len(sc)))
            row.append(k + read if a == b else k)
        rows.append(jnp.stack(row))
    return jnp.stack(rows)


@partial(jax.jit, static_argnames=("activation", "W_std", "b_std", "parameterization", "n_blocks"))
def _fc_blocks(layers, x1, x2, *, activation, W_std, b_std, parameterization, n_blocks):
    feats = partial(_features, activation=activation, W_std=W_std, b_std=b_std,
                    parameterization=parameterization)
    f1 = feats(layers, x1)
    if x2 is not None:
        return _block(f1, feats(layers, x2), slice(None), slice(None))
    n = x1.shape[0]
    edges = [round(k * n / n_blocks) for k in range(n_blocks + 1)]
    sl = [slice(edges[k], edges[k + 1]) for k in range(n_blocks)]
    grid = [[None] * n_blocks for _ in range(n_blocks)]
    for i in range(n_blocks):
        for j in range(i, n_blocks):
            grid[i][j] = _block(f1, f1, sl[i], sl[j])
            if j > i:
                grid[j][i] = jnp.swapaxes(jnp.swapaxes(grid[i][j], 0, 1), 2, 3)
    return jnp.concatenate([jnp.concatenate(r, axis=3) for r in grid], axis=2)


def _default_blocks(n: int) -> int:
    # Measured on 2 cores (n = 2048, 4096; width 5000): 8 row blocks bring the
    # symmetric kernel to ~1.1x the time of two full GEMMs; blocks under ~256
    # rows lose more to small-GEMM overhead than they save.
    return max(1, min(8, n // 256))


def fc_ntk_blocks(model, params, x1, x2=None, *, n_blocks: int | None = None):
    """Empirical NTK blocks ``(o, o, n1, n2)`` of an :class:`FCNet` (o=1) or :class:`ComplexFCNet` (o=2).

    Arguments:
        model: the module (its hyperparameters are read from it).
        params: its parameters (as from ``model.init``).
        x1, x2: inputs ``(n1, d)``, ``(n2, d)``; ``x2=None`` uses ``x1`` and symmetry.
        n_blocks: row blocks for the symmetric case (default ``min(8, n // 256)``).

    Returns:
        ``K[a, b](x, x') = Σ_i ∂f_a(x)/∂θ_i ∂f_b(x')/∂θ_i`` with ``f`` the real outputs.
    """
    from qsntk.kernels.empirical import at_precision

    if not isinstance(model, (FCNet, ComplexFCNet)):
        raise InputError(f"the structured NTK needs an FCNet or ComplexFCNet, got {type(model).__name__}")
    layers = dense_layers(at_precision(params))
    dtype = layers[0]["kernel"].dtype
    x1 = jnp.asarray(x1, dtype)
    x2 = None if x2 is None else jnp.asarray(x2, dtype)
    nb = n_blocks or _default_blocks(x1.shape[0])
    return _fc_blocks(layers, x1, x2, activation=model.activation, W_std=float(model.W_std),
                      b_std=None if model.b_std is None else float(model.b_std),
                      parameterization=model.parameterization, n_blocks=nb)


def supports(model) -> bool:
    """Whether :func:`real_blocks` has a structured path for ``model``."""
    if isinstance(model, (FCNet, ComplexFCNet)):
        return True
    return isinstance(model, RealImagPair) and all(isinstance(m, FCNet) for m in (model.re, model.im))


def _nets(model):
    """The FCNet-like networks whose features the structured path forms, one at a time."""
    return (model.re, model.im) if isinstance(model, RealImagPair) else (model,)


def memory_lower_bound(model, params, n1: int, n2: int | None = None) -> int:
    """Bytes :func:`real_blocks` must hold at once, at least.

    The parameters (at qsntk's precision), for the network being processed its hidden
    activations and one back-propagated vector per output on each input set
    (``(1 + o) · n · Σ_l N_l`` numbers, ``o`` = 1 or 2 outputs), and the
    ``(2, 2, n1, n2)`` output. ``params`` may hold ``jax.ShapeDtypeStruct`` leaves.
    """
    from qsntk.kernels.empirical import _promoted

    leaves = jax.tree_util.tree_leaves(params)
    isz = max((_promoted(leaf.dtype).itemsize for leaf in leaves), default=8)
    n_par = sum(int(np.prod(leaf.shape, dtype=np.int64)) for leaf in leaves)
    rows = n1 + (0 if n2 is None else n2)
    feats = max((1 + (2 if isinstance(m, ComplexFCNet) else 1)) * rows * sum(int(w) for w in m.widths)
                for m in _nets(model))
    return (n_par + feats + 4 * n1 * (n1 if n2 is None else n2)) * isz


def real_blocks(model, params, x1, x2=None, *, n_blocks: int | None = None):
    """Real blocks ``(2, 2, n1, n2)`` of the QS-NTK, structured (GEMM) path.

    Supports :class:`FCNet` (a real wavefunction: only K11), :class:`ComplexFCNet`
    (shared body) and :class:`RealImagPair` of two FCNets (K12 = K21 = 0).
    Parameters and inputs are computed at qsntk's precision (module docstring).

    Raises:
        InputError: an unsupported model, or a job that cannot fit in memory.
    """
    if not supports(model):
        raise InputError(f"the structured NTK needs an FCNet, a ComplexFCNet or a RealImagPair "
                         f"of two FCNets, got {type(model).__name__}")
    from qsntk.kernels.empirical import _check_inputs

    x1, x2 = _check_inputs(x1, x2)
    n1 = x1.shape[0]
    n2 = None if x2 is None else x2.shape[0]
    check_memory(f"the structured kernel of {n1} x {n1 if n2 is None else n2} inputs, hidden widths "
                 f"{', '.join(str(tuple(m.widths)) for m in _nets(model))}",
                 memory_lower_bound(model, params, n1, n2))
    p = params["params"] if "params" in params else params
    if isinstance(model, RealImagPair):
        k_re = fc_ntk_blocks(model.re, {"params": p["re"]}, x1, x2, n_blocks=n_blocks)[0, 0]
        k_im = fc_ntk_blocks(model.im, {"params": p["im"]}, x1, x2, n_blocks=n_blocks)[0, 0]
        from qsntk.kernels.qs import decoupled_blocks

        return decoupled_blocks(k_re, k_im)
    K = fc_ntk_blocks(model, params, x1, x2, n_blocks=n_blocks)
    if K.shape[0] == 2:
        return K
    zero = jnp.zeros_like(K[0, 0])
    return jnp.stack([jnp.stack([K[0, 0], zero]), jnp.stack([zero, zero])])
