"""The fused ensemble GD kernel (qsntk/native/pair_gd.cc) against the pure-JAX step."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qsntk.native as lib
from qsntk.dynamics import ensemble as ens
from qsntk.errors import InputError
from qsntk.nets import FCNet, RealImagPair, paper_pair

jax.config.update("jax_enable_x64", True)

needs_native = pytest.mark.skipif(not lib.available(),
                                  reason=f"native kernels not built: {lib.why_not()}")


def _data(n, d, seed=0, dtype=jnp.float64):
    rng = np.random.default_rng(seed)
    x = jnp.asarray(rng.choice([-1.0, 1.0], size=(n, d)), dtype)
    y = jnp.asarray(0.1 * (rng.normal(size=n) + 1j * rng.normal(size=n)),
                    jnp.complex64 if dtype == jnp.float32 else jnp.complex128)
    return x, y


def _maxdiff(a, b):
    return max(float(jnp.abs(u - v).max()) for u, v in
               zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)))


@needs_native
@pytest.mark.parametrize("width, n, members, model", [
    (37, 40, 3, None),                   # width not a multiple of the SIMD block, rows of R
    (64, 16, 1, None),                   # exactly one block of rows
    (21, 53, 2, "standard"),             # standard parameterization
])
def test_native_steps_equal_the_pure_jax_ones(width, n, members, model):
    if model == "standard":
        model = RealImagPair(*(FCNet((width,), activation="relu", W_std=1.3, b_std=0.2,
                                     parameterization="standard") for _ in range(2)))
    else:
        model = paper_pair(width)
    x, y = _data(n, 6, seed=width)
    p = ens.init_ensemble(model, 6, members, key=jax.random.PRNGKey(width), dtype=jnp.float64)
    nat = ens.structured_gd_fn(model, x, y, 0.3, chunk=7, native=True)(p, 5)
    jx = ens.structured_gd_fn(model, x, y, 0.3, chunk=7, native=False)(p, 5)
    auto = ens.gd_fn(model.apply, x, y, 0.3, chunk=16)(p, 5)
    assert _maxdiff(nat, jx) < 1e-13 and _maxdiff(nat, auto) < 1e-13
    assert _maxdiff(nat, p) > 1e-3                                  # the parameters moved
    same = ens.structured_gd_fn(model, x, y, 0.3, native=True)(p, 0)
    assert _maxdiff(same, p) == 0.0
    two = ens.structured_gd_fn(model, x, y, 0.3, native=True)
    assert _maxdiff(two(two(p, 2), 3), nat) < 1e-13                 # steps compose


@needs_native
def test_native_steps_in_single_precision():
    model = paper_pair(300)
    x, y = _data(200, 12, dtype=jnp.float32)
    p = ens.init_ensemble(model, 12, 2, key=jax.random.PRNGKey(1), dtype=jnp.float32)
    nat = ens.structured_gd_fn(model, x, y, 1.0, native=True)(p, 20)
    jx = ens.structured_gd_fn(model, x, y, 1.0, native=False)(p, 20)
    assert all(v.dtype == jnp.float32 for v in jax.tree_util.tree_leaves(nat))
    scale = max(float(jnp.abs(v).max()) for v in jax.tree_util.tree_leaves(jx))
    assert 0 < _maxdiff(nat, jx) < 1e-5 * scale                     # float rounding, not more
    loss = ens.loss_fn(model.apply, x, y)
    np.testing.assert_allclose(loss(nat), loss(jx), rtol=1e-4)


def test_native_refuses_other_activations():
    model = RealImagPair(*(FCNet((9,), activation="tanh", W_std=1.0, b_std=0.1) for _ in range(2)))
    x, y = _data(10, 4)
    with pytest.raises(InputError, match="needs ReLU networks, not 'tanh'"):
        ens.structured_gd_fn(model, x, y, 0.1, native=True)
