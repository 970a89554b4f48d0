r"""Ensembles of finite networks trained by full-batch gradient descent (Luo–Halverson sec. 6).

The experiment the analytic solution is compared with: ``E`` independently
initialized wavefunctions :math:`\psi^{(e)}_\theta` trained on the same train set
with the loss of :mod:`qsntk.dynamics.linearized`,

.. math::  L^{(e)} = \frac{1}{|B|}\sum_{x\in B}|\psi^{(e)}(x) - \psi_T(x)|^2,\qquad
           \theta_{t+1} = \theta_t - \eta\,\nabla_\theta L ,\qquad \tau = \eta\,t .

Members are one pytree with a leading axis of size ``E`` and are stepped together
under :func:`jax.vmap` (one XLA program, no Python loop over members). The
gradient over the train set is accumulated in row chunks, so the hidden
activations of a chunk stay in cache instead of streaming ``|B| × N`` arrays
through memory several times per step.

Everything here is a pure function of arrays and parameter pytrees; run
directories, checkpoints and progress bars live in :mod:`qsntk.experiments`.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from qsntk.errors import InputError, check_finite, check_int_at_least, check_positive


class Problem(NamedTuple):
    """Data of one supervised-learning problem, as device arrays.

    Attributes:
        x_train, x_test: encoded basis states, ``(|B|, d)`` and ``(|T|, d)``.
        y_train, y_test: complex target amplitudes, ``(|B|,)`` and ``(|T|,)``.
    """

    x_train: jax.Array
    y_train: jax.Array
    x_test: jax.Array
    y_test: jax.Array


def make_problem(x, psi, split, *, dtype=jnp.float32) -> Problem:
    """Cut encoded states ``x`` ``(n, d)`` and target ``psi`` ``(n,)`` into train and test."""
    x = np.asarray(x)
    psi = np.asarray(psi)
    check_finite("inputs", x)
    check_finite("target", psi)
    if x.ndim != 2 or psi.shape != (x.shape[0],):
        raise InputError(f"inputs {x.shape} and target {psi.shape} do not match")
    cdtype = jnp.complex64 if jnp.dtype(dtype) == jnp.float32 else jnp.complex128
    tr, te = split
    return Problem(jnp.asarray(x[tr], dtype), jnp.asarray(psi[tr], cdtype),
                   jnp.asarray(x[te], dtype), jnp.asarray(psi[te], cdtype))


def init_ensemble(model, d: int, n_members: int, *, key: jax.Array, dtype=jnp.float32):
    """Stacked initial parameters of ``n_members`` networks, leading axis ``E``.

    Member ``e`` is initialized from ``jax.random.fold_in(key, e)``, so the first
    members of a larger ensemble equal a smaller one drawn from the same key.
    """
    check_int_at_least("ensemble size", n_members, 1)
    keys = jnp.stack([jax.random.fold_in(key, e) for e in range(n_members)])
    init = lambda k: model.init(k, jnp.zeros((1, d), dtype))
    params = jax.vmap(init)(keys)
    return jax.tree_util.tree_map(lambda a: a.astype(dtype), params)


def chunk_rows(n: int, chunk: int | None) -> tuple[int, int]:
    """``(m, c)``: ``m = ⌈n/chunk⌉`` chunks of ``c = ⌈n/m⌉ ≤ chunk`` rows.

    Balancing the chunks keeps the zero-weight padding below ``m`` rows (cutting 2400
    rows into 2133-row chunks would pad them to 4266, 78 % wasted work; balanced they are
    two chunks of 1200)."""
    if chunk is None or chunk >= n:
        return 1, n
    m = -(-n // int(chunk))
    return m, -(-n // m)


def _chunks(x, y, chunk: int | None):
    """Reshape rows into ``(n_chunks, c, …)`` (:func:`chunk_rows`) with zero-weight padding."""
    n = x.shape[0]
    m, c = chunk_rows(n, chunk)
    pad = m * c - n
    w = jnp.concatenate([jnp.ones(n, x.dtype), jnp.zeros(pad, x.dtype)])
    xp = jnp.concatenate([x, jnp.zeros((pad,) + x.shape[1:], x.dtype)])
    yp = jnp.concatenate([y, jnp.zeros(pad, y.dtype)])
    return xp.reshape(m, c, *x.shape[1:]), yp.reshape(m, c), w.reshape(m, c)


def _sq_sum(apply, params, x, y, w):
    with jax.default_matmul_precision("highest"):       # float32 is not TF32 on a GPU
        r = apply(params, x) - y
    return jnp.sum(w * (r.real**2 + r.imag**2))


def loss_fn(apply: Callable, x, y, *, chunk: int | None = 1024) -> Callable:
    """``params -> (E,)`` per-member mean squared error ``(1/n) Σ |ψ − y|²`` on ``x``.

    Arguments:
        apply: ``apply(params, x) -> (n,)`` complex amplitudes of one member.
        x, y: inputs ``(n, d)`` and complex targets ``(n,)``.
        chunk: rows evaluated at a time (memory and cache reuse).
    """
    xs, ys, ws = _chunks(x, y, chunk)
    n = x.shape[0]

    def one(params):
        def body(acc, c):
            return acc + _sq_sum(apply, params, *c), None
        return jax.lax.scan(body, jnp.zeros((), x.dtype), (xs, ys, ws))[0] / n

    return jax.jit(jax.vmap(one))


def gd_fn(apply: Callable, x, y, eta: float, *, chunk: int | None = 1024) -> Callable:
    r"""``(params, n_steps) -> params``: ``n_steps`` full-batch GD steps of every member.

    The gradient of :math:`\frac{1}{|B|}\sum_B|\psi - y|^2` is summed over row chunks
    (exactly the full-batch gradient; chunking only bounds memory).
    """
    check_positive("learning rate", eta)
    xs, ys, ws = _chunks(x, y, chunk)
    n = x.shape[0]
    scale = eta / n

    def step(params):
        def body(g, c):
            gc = jax.grad(_sq_sum, argnums=1)(apply, params, *c)
            return jax.tree_util.tree_map(jnp.add, g, gc), None
        zero = jax.tree_util.tree_map(jnp.zeros_like, params)
        g = jax.lax.scan(body, zero, (xs, ys, ws))[0]
        return jax.tree_util.tree_map(lambda p, gi: p - scale * gi, params, g)

    def run(params, n_steps):
        return jax.lax.fori_loop(0, n_steps, lambda _, p: jax.vmap(step)(p), params)

    return jax.jit(run)


def top_ntk_eigenvalue(apply: Callable, params, x, *, iters: int = 40, key: jax.Array) -> jax.Array:
    r"""Largest eigenvalue of each member's empirical :math:`\Omega_{RI}` on ``x``, ``(E,)``.

    Power iteration on :math:`J^T J` (parameter space; same nonzero spectrum as the
    real kernel :math:`J J^T` of (Re ψ, Im ψ)), one JVP and one VJP per iteration.
    Compare with :math:`\lambda_{\max}` of the infinite kernel: a member is unstable
    under GD when :math:`\eta > |B| / \lambda_{\max}`.
    """
    def real_out(p):
        f = apply(p, x)
        return jnp.concatenate([f.real, f.imag])

    def one(p, k):
        leaves, tdef = jax.tree_util.tree_flatten(p)
        ks = jax.random.split(k, len(leaves))
        v = jax.tree_util.tree_unflatten(tdef, [jax.random.normal(kk, l.shape, l.dtype)
                                                for kk, l in zip(ks, leaves)])
        _, vjp = jax.vjp(real_out, p)

        def norm(t):
            return jnp.sqrt(sum(jnp.vdot(a, a) for a in jax.tree_util.tree_leaves(t)))

        def body(_, carry):
            v, _lam = carry
            u = vjp(jax.jvp(real_out, (p,), (v,))[1])[0]
            lam = norm(u) / norm(v)
            return jax.tree_util.tree_map(lambda a: a / norm(u), u), lam

        return jax.lax.fori_loop(0, iters, body, (v, jnp.zeros((), x.dtype)))[1]

    E = jax.tree_util.tree_leaves(params)[0].shape[0]
    return jax.jit(jax.vmap(one))(params, jax.random.split(key, E))


def log_steps(n_steps: int, n_points: int = 60) -> np.ndarray:
    """Log-spaced integer steps from 0 to ``n_steps`` (0 and ``n_steps`` included)."""
    check_int_at_least("number of steps", n_steps, 1)
    grid = np.unique(np.round(np.logspace(0, np.log10(n_steps), n_points)).astype(int))
    return np.concatenate([[0], grid])


def outputs(apply: Callable, params, x, *, chunk: int = 2048) -> np.ndarray:
    """Complex outputs of every member on ``x``, ``(n, E)``."""
    f = jax.jit(jax.vmap(lambda p: jnp.concatenate(
        [apply(p, x[i:i + chunk]) for i in range(0, x.shape[0], chunk)])))(params)
    return np.asarray(f).T


# ---------------------------------------------------------------------------------------
# Structured path: real–imaginary pairs of one-hidden-layer dense networks (the paper's).
# ---------------------------------------------------------------------------------------

def supports_structured(model) -> bool:
    """Whether ``model`` is a :class:`~qsntk.nets.RealImagPair` of one-hidden-layer FCNets."""
    from qsntk.nets import FCNet, RealImagPair

    return (isinstance(model, RealImagPair) and all(
        isinstance(m, FCNet) and len(m.widths) == 1 and m.b_std is not None
        for m in (model.re, model.im)) and model.re.activation == model.im.activation
        and model.re.parameterization == model.im.parameterization
        and (model.re.W_std, model.re.b_std) == (model.im.W_std, model.im.b_std))


def _pack(params):
    """Flax pair params (leading axis E) -> arrays with a leading net axis G = 2E (re, im)."""
    p = params["params"]
    def get(layer, name):
        return jnp.concatenate([p[part][layer][name] for part in ("re", "im")], axis=0)
    return (get("Dense_0", "kernel"), get("Dense_0", "bias"),
            get("Dense_1", "kernel")[..., 0], get("Dense_1", "bias")[..., 0])


def _unpack(packed, E):
    W1, b1, w2, b2 = packed
    out = {}
    for i, part in enumerate(("re", "im")):
        s = slice(i * E, (i + 1) * E)
        out[part] = {"Dense_0": {"kernel": W1[s], "bias": b1[s]},
                     "Dense_1": {"kernel": w2[s][..., None], "bias": b2[s][..., None]}}
    return {"params": out}


def _net_mesh(n_nets: int, devices):
    """A 1-d mesh over the most devices (of ``devices``) that divide ``n_nets``, or None."""
    devices = list(jax.devices() if devices is None else devices)
    D = max(k for k in range(1, len(devices) + 1) if n_nets % k == 0)
    if D == 1:
        return None
    from jax.sharding import Mesh

    return Mesh(np.array(devices[:D]), ("net",))


# true float32 products: on NVIDIA GPUs JAX's default precision for float32 dots is TF32
# (10-bit mantissas); XLA:CPU computes the same bits either way
_FULL = jax.lax.Precision.HIGHEST


def structured_gd_fn(model, x, y, eta: float, *, chunk: int = 128, devices=None,
                     native: bool | None = None) -> Callable:
    r"""Fast :func:`gd_fn` for the paper's pair of one-hidden-layer networks.

    With :math:`z = a\,x W_1 + c\,b_1`, :math:`f = s \sum_j \sigma(z_j) w_{2j} + c\,b_2`
    (``a, c, s`` the parameterization's scales) and :math:`\delta_r = 2(f_r - y_r)/|B|`,
    the whole first-layer gradient is one thin GEMM with the derivative mask,

    .. math::  \big[\nabla_{W_1}/a;\ \nabla_{b_1}/c\big]_{:,j}
               = s\, w_{2j} \sum_r [x_r\delta_r;\ \delta_r]\,\sigma'(z_{rj}),

    and :math:`\nabla_{w_2} = s\,\sigma(z)^T\delta`. Rows are processed in chunks
    of ``chunk`` so that :math:`z` of a chunk stays in cache. Exactly the
    gradient :func:`gd_fn` computes (tested to round-off).

    The ``2E`` networks are independent: with several devices (``devices``, default
    ``jax.devices()``) they are split evenly over the most devices that divide
    ``2E`` (:func:`jax.shard_map`), each device stepping its own networks one after
    another. On CPU that needs one XLA device per core (:mod:`qsntk.hostdevices`);
    with one device the step is the same program without the split.

    ``native``: for ReLU networks on a CPU, run the steps through the fused kernel of
    :mod:`qsntk.native` (``pair_gd.cc``: the same arithmetic, the rows' activations kept in
    cache between the forward and the backward pass, networks shared over the cores, all
    ``n_steps`` in one call): ``None`` where it is available, ``True`` always (an error where
    it is not), ``False`` never. It agrees with this program to float rounding (the sums
    over rows are taken in a different order), ``tests/dynamics/test_native_gd.py``.
    """
    from qsntk.nets.activations import get_activation

    check_positive("learning rate", eta)
    net = model.re
    N, d = net.widths[0], x.shape[1]
    ntk = net.parameterization == "ntk"
    a = float(net.W_std / np.sqrt(d)) if ntk else 1.0  # python floats: weakly typed in jnp
    s = float(net.W_std / np.sqrt(N)) if ntk else 1.0
    c = float(net.b_std) if ntk else 1.0
    if native or native is None:
        from qsntk import native as lib

        if native and net.activation != "relu":
            raise InputError(f"native=True needs ReLU networks, not {net.activation!r}")
        if native and not lib.available():
            raise InputError(f"the native kernels are not available: {lib.why_not()}")
        if net.activation == "relu" and lib.available():
            return _native_gd_fn(x, y, eta, a=a, s=s, c=c)
    act = get_activation(net.activation)
    dact = jax.vmap(jax.vmap(jax.grad(act))) if net.activation != "relu" else None
    xs, ys_re, ws = _chunks(x, y.real, chunk)
    _, ys_im, _ = _chunks(x, y.imag, chunk)
    xa = jnp.concatenate([xs * a, jnp.full(xs.shape[:2] + (1,), c, xs.dtype)], axis=-1)  # (m, c, d+1)
    n = x.shape[0]

    def one_net(W1, b1, w2, b2, ys):
        Wa = jnp.concatenate([W1, b1[None]], axis=0)                                       # (d+1, N)

        def body(acc, data):
            gA, g2, gb2 = acc
            xc, yc, wc = data
            z = jnp.matmul(xc, Wa, precision=_FULL)                                        # (c, N)
            h = act(z)
            f = s * jnp.sum(h * w2, axis=1) + c * b2
            delta = (2.0 / n) * wc * (f - yc)
            mask = (z > 0).astype(z.dtype) if dact is None else dact(z)
            gA = gA + jnp.matmul((xc * delta[:, None]).T, mask, precision=_FULL)          # (d+1, N)
            g2 = g2 + s * jnp.matmul(delta, h, precision=_FULL)
            return (gA, g2, gb2 + c * jnp.sum(delta)), None

        zero = (jnp.zeros_like(Wa), jnp.zeros_like(w2), jnp.zeros_like(b2))
        (gA, g2, gb2), _ = jax.lax.scan(body, zero, (xa, ys, ws))
        gA = gA * (s * w2)[None, :]
        # rows of gA: the W1 gradient (a already in xa = a·x), then the b1 gradient (c)
        return (W1 - eta * gA[:-1], b1 - eta * gA[-1], w2 - eta * g2, b2 - eta * gb2)

    def nets(W1, b1, w2, b2, ys):
        # networks one after another: batching them (vmap) measured 3-5x slower on CPU
        return jax.lax.map(lambda a: one_net(*a), (W1, b1, w2, b2, ys))

    def loop(packed, ys, n_steps, step):
        return jax.lax.fori_loop(0, n_steps, lambda _, q: step(*q, ys), packed)

    plain = jax.jit(lambda packed, ys, n: loop(packed, ys, n, nets))
    pack, unpack = jax.jit(_pack), jax.jit(_unpack, static_argnums=1)
    split = {}

    def run(params, n_steps):
        E = params["params"]["re"]["Dense_0"]["kernel"].shape[0]
        ys = jnp.concatenate([jnp.broadcast_to(ys_re, (E,) + ys_re.shape),
                              jnp.broadcast_to(ys_im, (E,) + ys_im.shape)])    # (2E, m, c)
        packed = pack(params)
        mesh = _net_mesh(2 * E, devices)
        if mesh is None:
            return unpack(plain(packed, ys, n_steps), E)
        # Only transfers cross devices (device_put in and out); the program itself has no
        # collectives, which on CPU can stall when the cores are busy elsewhere.
        from jax.sharding import NamedSharding, PartitionSpec as P

        if E not in split:
            step = jax.shard_map(nets, mesh=mesh, in_specs=(P("net"),) * 5,
                                 out_specs=(P("net"),) * 4)
            split[E] = jax.jit(lambda packed, ys, n: loop(packed, ys, n, step))
        on_mesh = NamedSharding(mesh, P("net"))
        home = jax.tree_util.tree_leaves(params)[0].sharding
        out = split[E](jax.device_put(packed, on_mesh), jax.device_put(ys, on_mesh), n_steps)
        return unpack(jax.device_put(out, home), E)

    return run


def _native_gd_fn(x, y, eta: float, *, a: float, s: float, c: float) -> Callable:
    """:func:`structured_gd_fn` through ``qsntk/native/pair_gd.cc`` (see there)."""
    n = x.shape[0]
    xa = jnp.concatenate([x * a, jnp.full((n, 1), c, x.dtype)], axis=1)      # (n, d+1)
    yr, yi = y.real, y.imag
    pack, unpack = jax.jit(_pack), jax.jit(_unpack, static_argnums=1)

    @jax.jit
    def call(packed, n_steps):
        W1, b1, w2, b2 = packed
        dt = W1.dtype
        G = W1.shape[0]
        ys = jnp.concatenate([jnp.broadcast_to(yr, (G // 2, n)), jnp.broadcast_to(yi, (G // 2, n))])
        name = "qsntk_pair_gd_f32" if dt == jnp.float32 else "qsntk_pair_gd_f64"
        shapes = tuple(jax.ShapeDtypeStruct(t.shape, dt) for t in packed)
        f = jax.ffi.ffi_call(name, shapes, vmap_method="sequential")
        return f(xa.astype(dt), ys.astype(dt), W1, b1, w2, b2, n_steps,
                 eta=np.float64(eta), s=np.float64(s), c=np.float64(c))

    def run(params, n_steps):
        E = params["params"]["re"]["Dense_0"]["kernel"].shape[0]
        return unpack(call(pack(params), jnp.asarray(n_steps, jnp.int32)), E)

    return run
