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
``rbmsymm``    ``nk.models.RBMSymm`` over the lattice's space group   spins
               (α·N hidden units in α·N/|G| symmetric features)
``gcnn``       ``nk.models.GCNN`` over the lattice's space group      spins
               (translations × point group of ``graph``)
``ar``         ``nk.models.ARNNDense`` (autoregressive, normalized;   spins, full space
               sampled directly by ``ARDirectSampler``)
``slater``     ``nk.models.Slater2nd`` (unrestricted Hartree–Fock)    hubbard
``backflow``   :class:`SlaterBackflow`: generalized orbitals plus a   hubbard
               neural backflow correction (ours; NetKet has none)
=============  ====================================================  ==============

``marshall=True`` multiplies a spin model by the Marshall sign
:math:`(-1)^{N_\downarrow(A)}` (down spins on sublattice A, x + y even) — the exact
sign of the bipartite Heisenberg ground state (Marshall 1955), a good prior for J1–J2.
The network then only learns amplitudes (real parameters suffice for Heisenberg).

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

__all__ = ["MODELS", "ModelSpec", "make_model", "SlaterBackflow", "MarshallSign", "default_complex",
           "sublattice_a", "n_parameters"]

#: name -> (one-line description, "spin" | "fermion")
MODELS: dict[str, tuple[str, str]] = {
    "rbm": ("restricted Boltzmann machine (nk.models.RBM)", "spin"),
    "ffnn": ("one-hidden-layer feed-forward network (nk.models.MLP)", "spin"),
    "rbmsymm": ("space-group symmetric RBM (nk.models.RBMSymm)", "spin"),
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
        marshall: multiply by the Marshall sign (spin systems on a bipartite lattice).
    """

    name: str = "rbm"
    alpha: float = 1.0
    layers: int = 2
    features: int = 8
    complex: bool | None = None
    marshall: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def default_complex(system, marshall: bool = False) -> bool:
    """Real parameters for ``tfim`` (positive ground state), ``hubbard`` and Marshall-signed
    models; complex otherwise."""
    return not (marshall or system.name in ("tfim", "hubbard"))


def sublattice_a(system) -> np.ndarray:
    """Boolean mask of sublattice A (x + y even) of the Lx × Ly lattice, shape (n_sites,).

    Raises:
        InputError: the lattice is not bipartite with these boundaries (an odd
            periodic side > 2).
    """
    for side in (system.lx, system.ly):
        if system.pbc and side > 2 and side % 2:
            raise InputError(f"the Marshall sign needs a bipartite lattice; periodic side {side} is odd")
    x, y = np.divmod(np.arange(system.n_sites), system.ly)
    return (x + y) % 2 == 0


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
    if spec.marshall:
        if spec.name == "ar":
            raise InputError("model 'ar' is sampled from its conditionals; it takes no Marshall sign")
        if system.is_fermionic:
            raise InputError("the Marshall sign applies to spin systems, not hubbard")
        sublattice_a(system)
    cplx = default_complex(system, spec.marshall) if spec.complex is None else bool(spec.complex)
    return dataclasses.replace(spec, complex=cplx, marshall=bool(spec.marshall))


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
    module = _make(spec, system)
    if spec.marshall:
        module = MarshallSign(module, tuple(bool(b) for b in sublattice_a(system)))
    return module, spec


def _make(spec: ModelSpec, system) -> nn.Module:
    dtype = jnp.complex128 if spec.complex else jnp.float64
    n = system.n_cols
    hidden = max(1, int(round(spec.alpha * n)))
    if spec.name == "rbm":
        import netket as nk

        return nk.models.RBM(alpha=spec.alpha, param_dtype=dtype)
    if spec.name == "ffnn":
        import netket as nk

        return nk.models.MLP(hidden_dims=(hidden,), param_dtype=dtype,
                             hidden_activations=nk.nn.activation.log_cosh, output_activation=None,
                             use_output_bias=True)
    if spec.name == "rbmsymm":
        import netket as nk

        group = system.graph.space_group()
        if spec.alpha * system.n_sites < len(group):
            raise InputError(f"rbmsymm needs alpha >= {len(group) / system.n_sites:g} "
                             f"(|space group| = {len(group)}), got {spec.alpha!r}")
        # NetKet's RBMSymm draws its weights with std 0.1: on 100 sites each of the
        # α·N hidden units then starts with a pre-activation of std 1, log ψ spreads
        # over ~100 across configurations and the first local energies reach 1e10
        # (the 10×10 Heisenberg run diverged at step 1). Std 0.01, the plain RBM's,
        # starts near the uniform state as the RBM does.
        small = jax.nn.initializers.normal(stddev=0.01)
        return nk.models.RBMSymm(symmetries=group, alpha=spec.alpha, param_dtype=dtype,
                                 kernel_init=small, hidden_bias_init=small,
                                 visible_bias_init=small)
    if spec.name == "gcnn":
        import netket as nk

        return nk.models.GCNN(symmetries=system.graph, layers=spec.layers,
                              features=spec.features, param_dtype=dtype,
                              complex_output=True)
    if spec.name == "ar":
        import netket as nk

        return nk.models.ARNNDense(hilbert=system.hilbert, layers=spec.layers,
                                   features=spec.features, param_dtype=dtype)
    if spec.name == "slater":
        import netket as nk

        return nk.models.Slater2nd(system.hilbert, restricted=False, param_dtype=dtype)
    return SlaterBackflow(n_orbitals=n, n_fermions=int(system.n_up + system.n_down),
                          hidden=hidden, param_dtype=dtype)


class MarshallSign(nn.Module):
    r"""``inner`` times the Marshall sign: :math:`\log\psi = \log\psi_{inner} + i\pi N_\downarrow(A)`.

    Arguments:
        inner: a spin model returning log ψ.
        mask: tuple of bools, True on sublattice A (:func:`sublattice_a`).
    """

    inner: nn.Module
    mask: tuple

    @nn.compact
    def __call__(self, x):
        a = jnp.asarray(self.mask, dtype=jnp.float64)
        n_down_a = jnp.sum((1 - x) / 2 * a, axis=-1)
        return self.inner(x) + 1j * jnp.pi * n_down_a


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
