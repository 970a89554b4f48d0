r"""Variational wavefunctions for VMC: NetKet's models where they exist, one of ours where not.

Every model returns :math:`\log\psi(x)` (complex in general) for a batch of raw
configurations ``x`` of shape ``(batch, n_cols)`` in NetKet's convention (σᶻ = ±1
for spins, 0/1 occupations for fermions; see ``docs/physics.md``), the NNQS
ansatz of the "Representing a quantum state" section of the VMC review
(shared/seeds/001_…).

=============  ====================================================  ==============
name           model                                                 systems
=============  ====================================================  ==============
``rbm``        ``nk.models.RBM`` (hidden units α·N, log-cosh)        spins
``ffnn``       ``nk.models.MLP``: one hidden layer α·N, log-cosh,    spins
               linear complex read-out
``gcnn``       ``nk.models.GCNN`` over the lattice's space group      spins
               (translations × point group of ``graph``)
``ar``         ``nk.models.ARNNDense`` (autoregressive, normalized;   spins, full space
               sampled directly by ``ARDirectSampler``)
``slater``     ``nk.models.Slater2nd`` (unrestricted Hartree–Fock)    hubbard
``backflow``   :class:`SlaterBackflow`: generalized orbitals plus a   hubbard
               neural backflow correction (ours; NetKet has none)
=============  ====================================================  ==============

``complex`` chooses complex parameters (needed for sign structures without a
sign rule, as Heisenberg/J1–J2 here, whose operators carry no Marshall rotation)
or real ones; the default is real for ``tfim`` and ``hubbard`` (stoquastic, resp.
sign carried by the determinant) and complex otherwise.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from qsntk.errors import InputError, check_choice, check_int_at_least, check_positive

__all__ = ["MODELS", "ModelSpec", "make_model", "SlaterBackflow", "default_complex"]

#: name -> (one-line description, "spin" | "fermion")
MODELS: dict[str, tuple[str, str]] = {
    "rbm": ("restricted Boltzmann machine (nk.models.RBM)", "spin"),
    "ffnn": ("one-hidden-layer feed-forward network (nk.models.MLP)", "spin"),
    "gcnn": ("group-convolutional network over the lattice symmetries (nk.models.GCNN)", "spin"),
    "ar": ("autoregressive dense network with direct sampling (nk.models.ARNNDense)", "spin"),
    "slater": ("Slater determinant, unrestricted (nk.models.Slater2nd)", "fermion"),
    "backflow": ("Slater determinant with neural backflow (qsntk SlaterBackflow)", "fermion"),
}


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """Hyper-parameters of a model (all JSON-able; part of a run's config).

    Attributes:
        name: a key of :data:`MODELS`.
        alpha: hidden-unit density (rbm, ffnn, backflow hidden width = alpha·n_cols).
        layers: number of layers (gcnn, ar).
        features: channels per layer (gcnn, ar).
        complex: complex parameters (None: :func:`default_complex`).
    """

    name: str = "rbm"
    alpha: float = 1.0
    layers: int = 2
    features: int = 8
    complex: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def default_complex(system) -> bool:
    """Real parameters for ``tfim`` (positive ground state) and ``hubbard``; complex otherwise."""
    return system.name not in ("tfim", "hubbard")


def _check(spec: ModelSpec, system) -> ModelSpec:
    check_choice("model", spec.name, MODELS)
    kind = MODELS[spec.name][1]
    if kind == "fermion" and not system.is_fermionic:
        raise InputError(f"model {spec.name!r} is fermionic; system {system.name!r} is a spin system")
    if kind == "spin" and system.is_fermionic:
        raise InputError(f"model {spec.name!r} is for spins; use slater or backflow for {system.name!r}")
    if spec.name == "ar" and system.sz0:
        raise InputError("model 'ar' samples the full spin space; drop sz0")
    check_positive("alpha", spec.alpha)
    check_int_at_least("layers", spec.layers, 1)
    check_int_at_least("features", spec.features, 1)
    cplx = default_complex(system) if spec.complex is None else bool(spec.complex)
    return dataclasses.replace(spec, complex=cplx)


def make_model(spec: ModelSpec | str, system, **overrides) -> tuple[nn.Module, ModelSpec]:
    """Build the flax module of ``spec`` for ``system``.

    Arguments:
        spec: a :class:`ModelSpec` or a model name (then ``overrides`` set its fields).
        system: a :class:`qsntk.physics.System` (its ``hilbert``/``graph`` are used).

    Returns:
        ``(module, spec)``: the flax module computing log ψ(x) for x of shape
        (batch, n_cols), and the validated spec (``complex`` resolved).

    Raises:
        InputError: unknown model, a model for the other kind of system, a
            non-positive size.
    """
    if isinstance(spec, str):
        spec = ModelSpec(name=spec, **overrides)
    elif overrides:
        spec = dataclasses.replace(spec, **overrides)
    spec = _check(spec, system)
    dtype = jnp.complex128 if spec.complex else jnp.float64
    n = system.n_cols
    hidden = max(1, int(round(spec.alpha * n)))
    if spec.name == "rbm":
        import netket as nk

        return nk.models.RBM(alpha=spec.alpha, param_dtype=dtype), spec
    if spec.name == "ffnn":
        import netket as nk

        return nk.models.MLP(hidden_dims=(hidden,), param_dtype=dtype,
                             hidden_activations=nk.nn.activation.log_cosh, output_activation=None,
                             use_output_bias=True), spec
    if spec.name == "gcnn":
        import netket as nk

        return nk.models.GCNN(symmetries=system.graph, layers=spec.layers,
                              features=spec.features, param_dtype=dtype,
                              complex_output=True), spec
    if spec.name == "ar":
        import netket as nk

        return nk.models.ARNNDense(hilbert=system.hilbert, layers=spec.layers,
                                   features=spec.features, param_dtype=dtype), spec
    if spec.name == "slater":
        import netket as nk

        return nk.models.Slater2nd(system.hilbert, restricted=False, param_dtype=dtype), spec
    return SlaterBackflow(n_orbitals=n, n_fermions=int(system.n_up + system.n_down),
                          hidden=hidden, param_dtype=dtype), spec


class SlaterBackflow(nn.Module):
    r"""Slater determinant with neural backflow (Luo & Clark, PRL 122, 226401, 2019).

    .. math::  \psi(n) = \det\big[(M + F(n))_{R(n),\,:}\big],

    with :math:`M` the ``(n_orbitals, n_fermions)`` generalized orbital matrix,
    :math:`F(n)` a one-hidden-layer network of the occupations reshaped to the
    same shape (initialized at zero, so the model starts as a Slater
    determinant), and :math:`R(n)` the occupied spin-orbitals in ascending order
    — NetKet's Fock-state ordering, so signs agree with ``FermionOperator2nd``.

    Arguments:
        n_orbitals: spin-orbitals 2N (columns of the configurations).
        n_fermions: N↑ + N↓.
        hidden: hidden units of the backflow network.
        param_dtype: float64 or complex128.

    Returns (``__call__``):
        log ψ(n), complex, shape (batch,), for occupations ``n`` (batch, n_orbitals).
    """

    n_orbitals: int
    n_fermions: int
    hidden: int
    param_dtype: Any = jnp.float64

    @nn.compact
    def __call__(self, n):
        n = jnp.asarray(n)
        occ = (n > 0.5).astype(jnp.int32)
        x = n.astype(self.param_dtype)
        shape = (self.n_orbitals, self.n_fermions)
        M = self.param("M", nn.initializers.normal(1.0), shape, self.param_dtype)
        h = nn.Dense(self.hidden, param_dtype=self.param_dtype, name="hidden")(2 * x - 1)
        h = jnp.tanh(h)
        F = nn.Dense(self.n_orbitals * self.n_fermions, param_dtype=self.param_dtype,
                     kernel_init=nn.initializers.zeros, name="backflow")(h)
        orbitals = M + F.reshape(F.shape[:-1] + shape)

        def one(o, orb):
            rows = jnp.nonzero(o, size=self.n_fermions)[0]
            A = orb[rows]
            sign, logabs = jnp.linalg.slogdet(A)
            return logabs.astype(jnp.complex128) + jnp.log(sign.astype(jnp.complex128))

        flat_o = occ.reshape((-1, self.n_orbitals))
        flat_orb = orbitals.reshape((-1,) + shape)
        out = jax.vmap(one)(flat_o, flat_orb)
        return out.reshape(occ.shape[:-1])


def n_parameters(params) -> int:
    """Number of real parameters (a complex parameter counts twice)."""
    return int(sum(np.size(p) * (2 if jnp.iscomplexobj(p) else 1)
                   for p in jax.tree_util.tree_leaves(params)))
