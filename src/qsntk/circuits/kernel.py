r"""Residual, gradient, QNTK and dQNTK of a compiled circuit (pure JAX, state vectors).

For one input state :math:`|\psi_0\rangle` (Liu et al., eqs. 2, 6, 14)

.. math:: \varepsilon = \langle\psi_0|U^\dagger O U|\psi_0\rangle - O_0,\qquad
          K = \sum_\ell \Big(\frac{\partial\varepsilon}{\partial\theta_\ell}\Big)^2,\qquad
          \mu = \sum_{\ell_1\ell_2} \frac{\partial^2\varepsilon}{\partial\theta_{\ell_1}\partial\theta_{\ell_2}}
                \frac{\partial\varepsilon}{\partial\theta_{\ell_1}}\frac{\partial\varepsilon}{\partial\theta_{\ell_2}}.

The gradient is computed with the adjoint method on the compiled form
(:mod:`qsntk.circuits.model`): one forward sweep that keeps the states
:math:`\chi_\ell` right after each phase layer, one backward sweep with
:math:`\lambda = O\,U|\psi_0\rangle`, and
:math:`\partial_\ell\varepsilon = -2\,\mathrm{Im}\,\langle\lambda_\ell|S_\ell|\chi_\ell\rangle`
(eq. 8 of Liu et al. in that frame). :func:`residual` carries this gradient as
a custom JVP, so ``jax.grad``, ``jax.jvp`` of ``jax.grad`` (Hessian-vector
products) and ``jax.hessian`` all work on it.

The dQNTK is :math:`\mu = g^\top H g` with :math:`g = \nabla\varepsilon`. Two
Hessian-vector-product routes are offered, neither forms ``H``:

* ``method="taylor"`` (default): :math:`g^\top H g = \frac{d^2}{ds^2}\varepsilon(\theta + s g)|_{s=0}`,
  propagating the state and its first two directional derivatives through the
  circuit (one forward sweep, reusing the stored :math:`\chi_\ell`);
* ``method="hvp"``: :math:`H g` = ``jax.jvp(jax.grad(residual), (θ,), (g,))``, then :math:`g\cdot Hg`.

Circuits whose generators all have two eigenvalues (Pauli strings, Pauli
rotations) run on the real folded form of :mod:`qsntk.circuits.fast`; pass
``prepare(comp)`` to use it (``qntk_batch`` does so itself). Any other
:class:`~qsntk.circuits.model.Compiled` circuit takes the general complex path.
:func:`qntk_batch` on one shared two-level circuit with at most
``fast.UNROLL_MAX_LAYERS`` layers runs :func:`qsntk.circuits.fast.unrolled`
(one real mat-vec per layer and sweep, layers unrolled); the results equal the
other paths to rounding.

All functions take one sample (``theta`` of shape ``(L,)``, ``psi0`` of shape
``(D,)``) and are meant to be ``jax.vmap``-ed and ``jax.jit``-ed; see
:func:`qntk_batch`.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from qsntk.circuits import fast
from qsntk.circuits.fast import TwoLevel
from qsntk.circuits.model import Compiled

__all__ = ["prepare", "evolve", "residual", "residual_and_grad", "qntk", "dqntk", "QNTKStats",
           "qntk_stats", "qntk_batch", "jacobian_inputs", "kernel_matrix", "hvp", "check_inputs"]


def prepare(comp: Compiled):
    """The fastest exact form of a concrete compiled circuit (or batch of them):
    :class:`~qsntk.circuits.fast.TwoLevel` when every generator has two eigenvalues,
    else ``comp`` itself."""
    if isinstance(comp, TwoLevel):
        return comp
    return fast.two_level(comp) if fast.is_two_level(comp) else comp


def _dims(comp):
    """``(D, L, batched)`` of a compiled circuit (either form)."""
    if isinstance(comp, TwoLevel):
        return comp.first.shape[-1] // 2, comp.h.shape[-1], comp.first.ndim == 3
    return comp.gates.shape[-1], comp.spectra.shape[-2], comp.gates.ndim == 4


def _concrete(x):
    return not isinstance(x, jax.core.Tracer)


def check_inputs(comp, O, theta, psi0, *, batch: bool) -> None:
    r"""Refuse, in one line, an observable, angles or input state that do not fit the circuit.

    Shapes are always checked (they are static, also under ``jax.jit``): ``O`` ``(D, D)``,
    ``psi0`` ``(D,)``, ``theta`` ``(L,)`` (``(B, L)`` when ``batch``). Where the values are
    concrete (not tracers inside a transformation), also: ``O`` finite and Hermitian to
    :data:`HERMITIAN_RTOL` of its largest entry, ``psi0`` finite and of unit norm to
    :data:`NORM_TOL` (K scales as :math:`|\psi_0|^4`, eq. 6).

    Raises:
        InputError: the bad argument and its shape or value named.
    """
    from qsntk.errors import InputError

    D, L, _ = _dims(comp)
    if jnp.shape(O) != (D, D):
        raise InputError(f"O must have shape ({D}, {D}) for this circuit on D = {D}, got "
                         f"{tuple(jnp.shape(O))}")
    if jnp.shape(psi0) != (D,):
        raise InputError(f"psi0 must have shape ({D},) for this circuit on D = {D}, got "
                         f"{tuple(jnp.shape(psi0))}")
    want = f"(B, {L})" if batch else f"({L},)"
    sh = tuple(jnp.shape(theta))
    if len(sh) != (2 if batch else 1) or sh[-1] != L:
        raise InputError(f"angles must have shape {want} for this "
                         f"circuit of L = {L} layers, got {sh}")
    if _concrete(O):
        On = np.asarray(O)
        if not np.all(np.isfinite(On)):
            raise InputError("O must be finite, got a non-finite entry")
        scale = float(np.max(np.abs(On), initial=0.0))
        tol = HERMITIAN_RTOL * max(scale, np.finfo(np.float64).tiny)
        if np.finfo(np.result_type(On.dtype, np.float32)).eps > 1e-10:     # single precision
            tol = max(tol, 1e-5 * scale)
        dev = float(np.max(np.abs(On - On.conj().T), initial=0.0))
        if dev > tol:
            raise InputError(f"O must be Hermitian, got max |O - O^dagger| = {dev:.3g} "
                             f"(largest entry {scale:.3g})")
    if _concrete(psi0):
        pn = np.asarray(psi0)
        if not np.all(np.isfinite(pn)):
            raise InputError("psi0 must be finite, got a non-finite entry")
        norm = float(np.linalg.norm(pn))
        tol = NORM_TOL if np.finfo(np.result_type(pn.dtype, np.float32)).eps < 1e-10 else 1e-5
        if abs(norm - 1.0) > tol:
            raise InputError(f"psi0 must have unit norm (K scales as |psi0|^4), got norm {norm:.6g}")


HERMITIAN_RTOL = 1e-10
r"""Largest :math:`|O - O^\dagger|` accepted, relative to O's largest entry (double precision;
1e-5 for single-precision O)."""
NORM_TOL = 1e-10
r"""Largest :math:`||\psi_0| - 1|` accepted (double precision; 1e-5 for a single-precision psi0)."""


def _forward(comp: Compiled, theta, psi0):
    """Final state and the states :math:`\\chi_\\ell` after each phase layer, ``(L, D)``."""

    def step(psi, xs):
        th, s, G = xs
        chi = jnp.exp(1j * th * s) * psi
        return G @ chi, chi

    psi = comp.gates[-1] @ psi0.astype(comp.gates.dtype)
    psi, chis = jax.lax.scan(step, psi, (theta, comp.spectra, comp.gates[:-1]), reverse=True)
    return psi, chis


def evolve(comp: Compiled, theta, psi0):
    """:math:`U(\\theta)|\\psi_0\\rangle`, shape ``(D,)`` (up to a global phase for a
    :class:`~qsntk.circuits.fast.TwoLevel` circuit)."""
    if isinstance(comp, TwoLevel):
        n = psi0.shape[-1]
        p = fast.fwd(comp, theta, fast.real_state(psi0))[0]
        return p[:n] + 1j * p[n:]
    return _forward(comp, theta, psi0)[0]


def _adjoint(comp, O, theta, psi0):
    """``(eps, grad, aux)``; ``aux`` is what :func:`_mu` needs from the forward sweep."""
    if isinstance(comp, TwoLevel):
        RO = fast.realmat(O)
        psi, Z, N = fast.fwd(comp, theta, fast.real_state(psi0))
        g = fast.grad(comp, RO, theta, psi, Z)
        return jnp.dot(psi, psi @ RO), g, (RO, psi, Z, N)
    psi, chis = _forward(comp, theta, psi0)
    lam = O @ psi
    eps = jnp.real(jnp.vdot(psi, lam))

    def step(lam, xs):
        G, s, th, chi = xs
        lam = jnp.conj(G.T) @ lam
        g = -2.0 * jnp.imag(jnp.vdot(lam, s * chi))
        return jnp.exp(-1j * th * s) * lam, g

    _, grad = jax.lax.scan(step, lam, (comp.gates[:-1], comp.spectra, theta, chis))
    return eps, grad, (psi, chis)


def _mu(comp, O, theta, aux, v):
    if isinstance(comp, TwoLevel):
        RO, psi, Z, N = aux
        return fast.taylor2(comp, RO, theta, psi, Z, N, v)
    psi, chis = aux
    return _taylor2(comp, O, theta, chis, psi, v)


@jax.custom_jvp
def _expectation(comp, O, theta, psi0):
    return _adjoint(comp, O, theta, psi0)[0]


@_expectation.defjvp
def _expectation_jvp(primals, tangents):
    comp, O, theta, psi0 = primals
    _, _, dtheta, _ = tangents
    eps, grad, _ = _adjoint(comp, O, theta, psi0)
    return eps, jnp.dot(grad, dtheta)


def residual(comp: Compiled, O, theta, psi0, target=0.0):
    """:math:`\\varepsilon(\\theta) = \\langle\\psi_0|U^\\dagger O U|\\psi_0\\rangle - O_0` (eq. 2 of Liu et al.).

    Differentiable in ``theta`` (adjoint gradient; only ``theta`` is
    differentiated, the circuit, ``O`` and ``psi0`` are constants).

    Arguments:
        comp: :class:`~qsntk.circuits.model.Compiled` circuit with ``L`` layers.
        O: ``(D, D)`` Hermitian observable.
        theta: ``(L,)`` angles (paper order).
        psi0: ``(D,)`` input state.
        target: :math:`O_0`.

    Returns:
        Real scalar.
    """
    return _expectation(jax.lax.stop_gradient(comp), jax.lax.stop_gradient(O), theta,
                        jax.lax.stop_gradient(psi0)) - target


def residual_and_grad(comp: Compiled, O, theta, psi0, target=0.0):
    """:math:`(\\varepsilon, \\partial\\varepsilon/\\partial\\theta)` by the adjoint method (eq. 8).

    Returns:
        ``(eps, grad)``: scalar and ``(L,)``.
    """
    eps, grad, _ = _adjoint(comp, O, theta, psi0)
    return eps - target, grad


def qntk(comp: Compiled, O, theta, psi0):
    """QNTK :math:`K = \\sum_\\ell (\\partial_\\ell\\varepsilon)^2` (eq. 6 of Liu et al.); scalar."""
    grad = residual_and_grad(comp, O, theta, psi0)[1]
    return jnp.dot(grad, grad)


def hvp(f, theta, v):
    """Hessian-vector product :math:`H v` of a scalar ``f(theta)``: ``jvp`` of ``grad`` (no Hessian formed)."""
    return jax.jvp(jax.grad(f), (theta,), (v,))[1]


def _taylor2(comp: Compiled, O, theta, chis, psi, v):
    """:math:`\\frac{d^2}{ds^2}\\varepsilon(\\theta + s v)|_0` from the stored forward states."""

    def step(carry, xs):
        d1, d2 = carry
        th, s, G, chi, vl = xs
        ph = jnp.exp(1j * th * s)
        a = ph * d1
        n1 = a + 1j * vl * s * chi
        n2 = ph * d2 + 2j * vl * s * a - (vl * s) ** 2 * chi
        return (G @ n1, G @ n2), None

    zero = jnp.zeros_like(psi)
    (d1, d2), _ = jax.lax.scan(step, (zero, zero),
                               (theta, comp.spectra, comp.gates[:-1], chis, v), reverse=True)
    return 2.0 * jnp.real(jnp.vdot(O @ psi, d2)) + 2.0 * jnp.real(jnp.vdot(d1, O @ d1))


def dqntk(comp, O, theta, psi0, *, method: str = "taylor"):
    """dQNTK :math:`\\mu = g^\\top H g` (eq. 14 of Liu et al.) by a Hessian-vector product; scalar.

    ``method`` is ``"taylor"`` (second directional derivative along g) or ``"hvp"``
    (``jvp`` of ``grad``); neither forms the Hessian."""
    return qntk_stats(comp, O, theta, psi0, method=method).mu


class QNTKStats(NamedTuple):
    """Per-sample results. Attributes: ``eps`` (scalar residual), ``grad`` ``(L,)``,
    ``K`` (QNTK, eq. 6), ``mu`` (dQNTK, eq. 14)."""

    eps: jax.Array
    grad: jax.Array
    K: jax.Array
    mu: jax.Array


def qntk_stats(comp: Compiled, O, theta, psi0, target=0.0, *, with_mu: bool = True,
               method: str = "taylor") -> QNTKStats:
    """ε, ∂ε/∂θ, K (eq. 6) and μ (eq. 14) for one angle sample.

    Arguments:
        comp, O, theta, psi0, target: as in :func:`residual`.
        with_mu: compute μ (else ``mu`` is NaN).
        method: ``"taylor"`` or ``"hvp"`` (see module doc); both are exact.

    Returns:
        :class:`QNTKStats`.

    Raises:
        InputError: ``O``, ``theta`` or ``psi0`` do not fit the circuit (:func:`check_inputs`).
    """
    check_inputs(comp, O, theta, psi0, batch=False)
    eps, grad, aux = _adjoint(comp, O, theta, psi0)
    K = jnp.dot(grad, grad)
    if not with_mu:
        mu = jnp.full((), jnp.nan, dtype=K.dtype)
    elif method == "taylor":
        mu = _mu(comp, O, theta, aux, grad)
    elif method == "hvp":
        mu = jnp.dot(grad, hvp(lambda t: residual(comp, O, t, psi0), theta, grad))
    else:
        raise ValueError(f"unknown method {method!r}")
    return QNTKStats(eps - target, grad, K, mu)


def qntk_batch(comp, O, thetas, psi0, target=0.0, *, with_mu: bool = True,
               method: str = "taylor", dtype=None, native: bool | None = None) -> QNTKStats:
    """:func:`qntk_stats` over a batch of angles and, optionally, of circuits.

    Arguments:
        comp: one :class:`Compiled` circuit, or a batch of them (leading axis ``B``
            on ``gates`` and ``spectra``, matching ``thetas``).
        O: ``(D, D)``; thetas: ``(B, L)``; psi0: ``(D,)``.
        dtype: the real floating type of the arithmetic: ``None`` (the circuit's, float64
            for circuits built by qsntk), ``"float64"`` or ``"float32"``. Single precision
            runs the two-level kernels about twice as fast on a CPU (``docs/qntk.md``). On
            the unrolled path (one shared two-level circuit, ``L <= fast.UNROLL_MAX_LAYERS``,
            also split over devices) the angles' cos/sin are taken in double precision and
            rounded once; the ``lax.scan`` and general paths round the angles first (fine in
            :math:`[0, 2\\pi)`, not for angles of 1e5 and more). K and
            μ come out with a relative error of a few 1e-6 at Fig. 1's size (L = 40; the
            error grows with depth like the rounding of ``2L`` mat-vecs).
        native: run one shared two-level circuit (any depth) through the fused CPU kernel
            of :mod:`qsntk.circuits.native`: ``None`` (default) where it is available,
            ``True`` always (an error where it is not), ``False`` never (the pure-JAX paths).
            It computes the same numbers to rounding, 2-4x faster on a CPU (``docs/qntk.md``).

    Returns:
        :class:`QNTKStats` with a leading batch axis ``B`` (in ``dtype``).

    Raises:
        InputError: ``dtype`` is not one of those, ``native=True`` where the kernel is
            not available (the reason named), or ``O``, ``thetas`` or ``psi0`` do not fit
            the circuit (shapes; where concrete, O Hermitian and psi0 of unit norm:
            :func:`check_inputs`), before anything is dispatched.
    """
    comp = prepare(comp)
    check_inputs(comp, O, thetas, psi0, batch=True)
    # the cast happens inside the compiled programs: eager conversions of the folded circuit
    # cost ~1.6 ms a call at Fig. 1's size, as much as the single-precision kernel saves
    dtype = None if dtype is None else str(real_dtype(dtype))
    shared = (method == "taylor" and isinstance(comp, TwoLevel) and comp.first.ndim == 2
              and jnp.ndim(thetas) == 2 and jnp.shape(thetas)[-1] >= 1)
    if native or (native is None and shared):
        from qsntk.circuits import native as nat
        from qsntk.errors import InputError

        if native and not shared:
            raise InputError("native=True needs one shared two-level circuit (Pauli or Pauli-"
                             "rotation generators), angles of shape (B, L) and method='taylor'")
        if native and not nat.available():
            raise InputError(f"the native QNTK kernel is not available: {nat.why_not()}")
        if nat.available():
            # cos/sin in the same program as the kernel, range-checked there: one dispatch
            # and no transfer to the host (0.5 us per sample at Fig. 1's size as their own call)
            return _qntk_batch_native(comp, O, thetas, psi0, target, with_mu=with_mu,
                                      dtype=dtype)
    if shared and jnp.shape(thetas)[-1] <= fast.UNROLL_MAX_LAYERS:
        traced = any(isinstance(x, jax.core.Tracer)
                     for x in jax.tree_util.tree_leaves((comp, O, thetas, psi0, target)))
        mesh = None if traced else _sample_mesh(jnp.shape(thetas)[0])   # under jit: one device
        if mesh is None:
            cos, sin = fast.angle_columns(comp.h, thetas)
            return _qntk_batch_unrolled(comp, O, cos, sin, psi0, target, with_mu=with_mu,
                                        dtype=dtype)
        return _split_unrolled(mesh, comp, O, thetas, psi0, target, with_mu=with_mu, dtype=dtype)
    return _qntk_batch(comp, O, thetas, psi0, target, with_mu=with_mu, method=method, dtype=dtype)


def real_dtype(dtype):
    """``"float32"``/``"float64"`` (or the NumPy/JAX types) as a NumPy dtype.

    Raises:
        InputError: anything else (named).
    """
    from qsntk.errors import InputError

    try:
        d = np.dtype(dtype)
    except (TypeError, ValueError):
        d = None
    if d is None or d not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise InputError(f"dtype must be float32 or float64, got {dtype!r}")
    return d


def _cast(tree, real):
    """Every floating leaf of ``tree`` to ``real`` (complex leaves to its complex type);
    Python scalars and integer leaves are left as they are."""
    cplx = np.result_type(real, np.complex64)

    def one(x):
        if isinstance(x, (int, float, complex)) or not hasattr(x, "dtype"):
            return x
        kind = np.dtype(x.dtype).kind
        return x.astype(cplx) if kind == "c" else x.astype(real) if kind == "f" else x

    return jax.tree_util.tree_map(one, tree)


SPLIT_MIN_SAMPLES = 2048


def _sample_mesh(n_samples: int):
    """A 1-d mesh over all CPU devices when there are several and ``n_samples`` is at least
    ``SPLIT_MIN_SAMPLES`` (else None).

    Several CPU devices exist when the process asked XLA for one per core
    (:mod:`qsntk.hostdevices`; ``qsntk qntk`` and ``qsntk reproduce`` do). XLA runs the
    thin ``(2D, 2D) @ (2D, B)`` products of a circuit sweep on one thread, so splitting
    the samples over the cores is what uses them, once a call is big enough to pay for the
    transfers in and out (~2–3 ms a call). ``benchmarks/qntk_breakdown.py`` on 2 cores,
    4 qubits, L = 40 (2026-12-02): 1000 samples 16.2–17.0 µs per sample split against
    12.8–14.2 on one device (three runs, medians), 4000 samples 11.5 against 18.2,
    16 000 samples 14.7 against 15.9.
    """
    devs = jax.devices()
    if (len(devs) < 2 or n_samples < max(2, SPLIT_MIN_SAMPLES)
            or any(d.platform != "cpu" for d in devs)):
        return None
    from jax.sharding import Mesh

    return Mesh(np.array(devs), ("b",))


def _pack(leaves):
    """Leaves -> one real vector (complex leaves as real then imaginary parts), in the
    widest real type among them (float32 for a single-precision circuit)."""
    parts = []
    for x in leaves:
        parts += [x.real.ravel(), x.imag.ravel()] if jnp.iscomplexobj(x) else [x.ravel()]
    real = jnp.result_type(*[p.dtype for p in parts])
    return jnp.concatenate([p.astype(real) for p in parts])


def _unpack(flat, layout):
    """Inverse of :func:`_pack` for ``layout = (treedef, ((shape, dtype), ...))``."""

    treedef, spec = layout
    out, o = [], 0
    for shape, dtype in spec:
        n = int(np.prod(shape, dtype=int))
        if np.dtype(dtype).kind == "c":
            x = flat[o:o + n] + 1j * flat[o + n:o + 2 * n]
            o += 2 * n
        else:
            x = flat[o:o + n]
            o += n
        out.append(x.reshape(shape).astype(dtype))
    return jax.tree_util.tree_unflatten(treedef, out)


_pack_jit = jax.jit(_pack)


def _split_unrolled(mesh, comp, O, thetas, psi0, target, *, with_mu, dtype=None):
    """:func:`_qntk_batch_unrolled` with the samples split evenly over ``mesh``.

    The batch is padded to a multiple of the device count and scaled by the half gaps on
    the host; the circuit, observable and input travel to every device as one packed
    real vector (one transfer instead of one per array, each of which costs XLA:CPU
    0.2–0.3 ms: 1.5–2 ms of a 1000-sample call at Fig. 1's size). Only transfers cross
    devices (in and out), the program has no collectives, and the results come back as
    ordinary (uncommitted) arrays.
    """
    from jax.sharding import NamedSharding, PartitionSpec as P

    th = np.asarray(thetas) * np.asarray(comp.h)
    B, D = th.shape[0], mesh.devices.size
    pad = -B % D
    if pad:
        th = np.concatenate([th, np.zeros((pad,) + th.shape[1:], th.dtype)])
    in_range = fast.angles_in_range(1.0, th)
    cos, sin = fast.scaled_angle_columns(jax.device_put(th, NamedSharding(mesh, P("b"))),
                                         in_range=in_range)
    leaves, treedef = jax.tree_util.tree_flatten((comp, jnp.asarray(O), jnp.asarray(psi0)))
    layout = (treedef, tuple((tuple(x.shape), str(x.dtype)) for x in leaves))
    flat = jax.device_put(_pack_jit(leaves), NamedSharding(mesh, P()))
    if np.ndim(target) == 0:
        # a Python scalar enters the program without a transfer
        target = target.item() if hasattr(target, "item") else target
    else:
        target = jax.device_put(jnp.asarray(target), NamedSharding(mesh, P()))
    out = _qntk_batch_unrolled_packed(flat, cos, sin, target, layout=layout, with_mu=with_mu,
                                      dtype=dtype)
    return QNTKStats(*(jnp.asarray(np.asarray(a)[:B]) for a in out))


@partial(jax.jit, static_argnames=("layout", "with_mu", "dtype"))
def _qntk_batch_unrolled_packed(flat, cos, sin, target, *, layout, with_mu, dtype):
    comp, O, psi0 = _unpack(flat, layout)
    return _unrolled_stats(comp, O, cos, sin, psi0, target, with_mu=with_mu, dtype=dtype)


def _unrolled_stats(comp, O, cos, sin, psi0, target, *, with_mu, dtype=None):
    """One shared two-level circuit, ``L <= fast.UNROLL_MAX_LAYERS``: :func:`fast.unrolled`,
    in ``dtype`` when given (else the circuit's; the cos/sin columns, taken in double
    precision, are rounded to it)."""
    if dtype is not None:
        comp, O, psi0, target = _cast((comp, O, psi0, target), np.dtype(dtype))
    cos, sin = (tuple(c.astype(comp.first.dtype) for c in cs) for cs in (cos, sin))
    with jax.default_matmul_precision("highest"):      # float32 is not TF32 on a GPU
        eps, grad, K, mu = fast.unrolled(comp, fast.realmat(O), fast.real_state(psi0), cos, sin,
                                         with_mu=with_mu)
    if mu is None:
        mu = jnp.full(K.shape, jnp.nan, dtype=K.dtype)
    return QNTKStats(eps - target, grad, K, mu)


_qntk_batch_unrolled = jax.jit(_unrolled_stats, static_argnames=("with_mu", "dtype"))


def _native_stats(comp, O, thetas, psi0, target, *, with_mu, dtype=None):
    """:func:`_unrolled_stats` through :func:`qsntk.circuits.native.sweep` (any depth); the
    cos/sin of the angles taken in double precision (for a double-precision circuit) and
    rounded once, as on the unrolled path."""
    from qsntk.circuits import native

    check_inputs(comp, O, thetas, psi0, batch=True)       # shapes (values: qntk_batch)
    cos, sin = fast.angle_rows(comp.h, thetas)           # traced here: range checked in-program
    if dtype is not None:
        comp, O, psi0, target = _cast((comp, O, psi0, target), np.dtype(dtype))
    real = comp.first.dtype
    eps, grad, K, mu = native.sweep(comp, fast.realmat(O).astype(real),
                                    fast.real_state(psi0).astype(real), cos.astype(real),
                                    sin.astype(real), with_mu=with_mu)
    return QNTKStats(eps - target, grad, K, mu)


_qntk_batch_native = jax.jit(_native_stats, static_argnames=("with_mu", "dtype"))


@partial(jax.jit, static_argnames=("with_mu", "method", "dtype"))
def _qntk_batch(comp, O, thetas, psi0, target, *, with_mu, method, dtype=None):
    if dtype is not None:
        comp, O, thetas, psi0, target = _cast((comp, O, thetas, psi0, target), np.dtype(dtype))
    batched = comp.first.ndim == 3 if isinstance(comp, TwoLevel) else comp.gates.ndim == 4
    fn = partial(qntk_stats, with_mu=with_mu, method=method)
    with jax.default_matmul_precision("highest"):      # float32 is not TF32 on a GPU
        return jax.vmap(fn, in_axes=(0 if batched else None, None, 0, None, None))(
            comp, O, thetas, psi0, target)


def jacobian_inputs(comp: Compiled, O, theta, inputs):
    """:math:`\\partial\\varepsilon_\\delta/\\partial\\theta_\\ell` for a data set of input states.

    Arguments:
        inputs: ``(N, D)`` embedded inputs :math:`|\\Psi(x_\\delta)\\rangle` (eq. 3).
        O: ``(D, D)`` or ``(k, D, D)`` observables :math:`O_i`.

    Returns:
        ``(N, L)`` or ``(N, k, L)`` Jacobian (rows ordered as the inputs).
    """
    one = lambda Oi, psi: residual_and_grad(comp, Oi, theta, psi)[1]
    if O.ndim == 3:
        return jax.vmap(lambda psi: jax.vmap(lambda Oi: one(Oi, psi))(O))(inputs)
    return jax.vmap(lambda psi: one(O, psi))(inputs)


def kernel_matrix(comp: Compiled, O, theta, inputs):
    """Supervised QNTK :math:`K_{\\delta_1\\delta_2} = \\sum_\\ell \\partial_\\ell\\varepsilon_{\\delta_1}\\partial_\\ell\\varepsilon_{\\delta_2}`.

    The kernel of the loss of eq. 3 of Liu et al. (with several outputs the
    index is the pair ``(δ, i)``, flattened input-major).

    Returns:
        ``(N, N)`` (or ``(N k, N k)``) symmetric positive-semidefinite matrix.
    """
    J = jacobian_inputs(comp, O, theta, inputs)
    J = J.reshape(-1, J.shape[-1])
    return J @ J.T
