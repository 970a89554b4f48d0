"""float32 means float32 on every backend.

On NVIDIA GPUs JAX computes float32 dot products in TF32 unless a precision is given;
XLA:CPU ignores the setting, so on this machine it can only be checked in the programs:
every dot product of qsntk's float32 hot paths must ask for ``Precision.HIGHEST``, and
the ``qsntk`` command sets that default for its process.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest


def _dots(jaxpr):
    """Every dot_general equation of a (closed) jaxpr, sub-jaxprs included."""
    from jax.extend.core import jaxprs_in_params

    jaxpr = getattr(jaxpr, "jaxpr", jaxpr)
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "dot_general":
            yield eqn
        for sub in jaxprs_in_params(eqn.params):
            yield from _dots(sub)


def _all_highest(jaxpr):
    dots = list(_dots(jaxpr))
    assert dots, "no dot products traced"
    bad = [e.params["precision"] for e in dots
           if e.params["precision"] != (jax.lax.Precision.HIGHEST, jax.lax.Precision.HIGHEST)]
    return len(dots), bad


def test_ensemble_step_asks_for_full_float32():
    from qsntk.dynamics import ensemble as ens
    from qsntk.nets import paper_pair

    model = paper_pair(16)
    x = jnp.asarray(np.random.default_rng(0).choice([-1.0, 1.0], (24, 6)), jnp.float32)
    y = jnp.asarray(np.random.default_rng(1).normal(size=24) * (1 + 0.5j), jnp.complex64)
    params = ens.init_ensemble(model, 6, 2, key=jax.random.PRNGKey(0), dtype=jnp.float32)
    gd = ens.structured_gd_fn(model, x, y, 0.1, chunk=8, devices=jax.devices()[:1], native=False)
    n, bad = _all_highest(jax.make_jaxpr(lambda p: gd(p, 1))(params))
    assert n >= 3 and not bad, bad


@pytest.mark.parametrize("layers", [6, 60])        # the unrolled kernel and the lax.scan one
def test_qntk_in_single_precision_asks_for_full_float32(layers):
    from qsntk.circuits import (compile_circuit, observable_matrix, prepare, qntk_batch,
                                random_circuit, random_observable)

    comp = prepare(compile_circuit(random_circuit(key=jax.random.PRNGKey(0), n_qubits=2,
                                                  n_layers=layers)))
    O = observable_matrix(random_observable(key=jax.random.PRNGKey(1), n_qubits=2))
    th = jax.random.uniform(jax.random.PRNGKey(2), (4, layers))
    psi0 = jnp.zeros(4, complex).at[0].set(1.0)
    # the pure-JAX kernels (what a GPU runs; the native CPU kernel has no dot products)
    n, bad = _all_highest(jax.make_jaxpr(
        lambda t: qntk_batch(comp, O, t, psi0, dtype="float32", native=False))(th))
    assert not bad, bad


def test_the_command_line_sets_full_precision(monkeypatch, capsys):
    from qsntk.cli import main

    monkeypatch.delenv("JAX_DEFAULT_MATMUL_PRECISION", raising=False)
    before = jax.config.jax_default_matmul_precision
    try:
        with pytest.raises(SystemExit):
            main(["exact", "tfim", "--lx", "4", "--ly", "1", "--json"])
        assert jax.config.jax_default_matmul_precision == "highest"
    finally:
        jax.config.update("jax_default_matmul_precision", before)
    capsys.readouterr()


def test_ensemble_losses_and_generic_step_ask_for_full_float32():
    from qsntk.dynamics import ensemble as ens
    from qsntk.nets import paper_pair

    model = paper_pair(16)
    x = jnp.ones((24, 6), jnp.float32)
    y = jnp.ones(24, jnp.complex64)
    params = ens.init_ensemble(model, 6, 2, key=jax.random.PRNGKey(0), dtype=jnp.float32)
    for fn in (ens.loss_fn(model.apply, x, y, chunk=8),
               lambda p: ens.gd_fn(model.apply, x, y, 0.1, chunk=8)(p, 1)):
        n, bad = _all_highest(jax.make_jaxpr(fn)(params))
        assert not bad, bad
