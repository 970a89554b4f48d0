r"""Samplers of :math:`p(x) = |\psi(x)|^2/\sum|\psi|^2`: NetKet's, chosen per system and model.

The Metropolis–Hastings chains of the "Sampling quantum ground state energy"
section of the VMC review (shared/seeds/001_…), or direct (exact, i.i.d.)
sampling for autoregressive models:

===============  ==============================================  ====================================
name             NetKet sampler                                  use
===============  ==============================================  ====================================
``local``        ``MetropolisLocal`` (one spin flip)             spins, full space
``exchange``     ``MetropolisExchange`` on the lattice bonds     spins; keeps total Sᶻ (needed for sz0)
``hamiltonian``  ``MetropolisHamiltonian`` (moves along H's      spins (keeps H's symmetries)
                 off-diagonal connections)
``fermion-hop``  ``MetropolisFermionHop`` on the lattice bonds   hubbard (keeps N↑, N↓)
``direct``       ``ARDirectSampler``                             model ``ar`` only
``exact``        ``ExactSampler`` (full enumeration)             tiny systems, tests
===============  ==============================================  ====================================

``auto`` picks ``direct`` for ``ar``, ``fermion-hop`` for Hubbard, ``exchange`` in
an Sᶻ = 0 sector and ``local`` otherwise.
"""

from __future__ import annotations

from qsntk.errors import InputError, check_choice, check_int_at_least

__all__ = ["SAMPLERS", "resolve_sampler", "make_sampler"]

SAMPLERS: dict[str, str] = {
    "auto": "choose from the system and model",
    "local": "single spin flips (MetropolisLocal)",
    "exchange": "spin exchange along the bonds (MetropolisExchange)",
    "hamiltonian": "moves along H's off-diagonal elements (MetropolisHamiltonian)",
    "fermion-hop": "fermion hops along the bonds (MetropolisFermionHop)",
    "direct": "direct sampling of an autoregressive model (ARDirectSampler)",
    "exact": "exact sampling from the full basis (ExactSampler)",
}


def resolve_sampler(name: str, system, model_name: str) -> str:
    """Validate ``name`` for ``system``/``model_name`` and resolve ``auto``.

    Raises:
        InputError: unknown sampler, or one that cannot sample this system or model.
    """
    check_choice("sampler", name, SAMPLERS)
    if name == "auto":
        if model_name == "ar":
            return "direct"
        if system.is_fermionic:
            return "fermion-hop"
        return "exchange" if system.sz0 else "local"
    if name == "direct" and model_name != "ar":
        raise InputError(f"sampler 'direct' needs an autoregressive model ('ar'), not {model_name!r}")
    if model_name == "ar" and name not in ("direct", "exact", "local"):
        raise InputError(f"model 'ar' is sampled with 'direct' (or 'local'/'exact'), not {name!r}")
    if system.is_fermionic and name in ("local", "exchange", "hamiltonian"):
        raise InputError(f"sampler {name!r} is for spins; use fermion-hop for {system.name!r}")
    if not system.is_fermionic and name == "fermion-hop":
        raise InputError(f"sampler 'fermion-hop' is for hubbard, not {system.name!r}")
    if system.sz0 and name == "local":
        raise InputError("sampler 'local' leaves the Sz = 0 sector; use exchange or hamiltonian")
    if not system.sz0 and name == "exchange":
        # exchange moves keep each chain's Sz: outside a fixed sector they cannot reach the
        # states of other magnetizations, and the Monte-Carlo averages would be biased
        raise InputError(f"sampler 'exchange' keeps Sz, so it cannot sample all of {system.name!r} "
                         "without a fixed sector; add --sz0 or use local")
    if name == "exact" and system.dim > 2**16:
        raise InputError(f"sampler 'exact' enumerates all {system.dim} states; "
                         "use it for at most 65536")
    return name


def make_sampler(name: str, system, *, model_name: str, n_chains: int = 16, sweep_size=None):
    """NetKet sampler ``name`` for ``system``.

    Arguments:
        name: a key of :data:`SAMPLERS` (``auto`` resolved by :func:`resolve_sampler`).
        system: a :class:`qsntk.physics.System`.
        model_name: the model's name (``ar`` allows ``direct``).
        n_chains: parallel Markov chains (Metropolis samplers).
        sweep_size: Metropolis moves between two samples (default: n_cols).

    Returns:
        ``(sampler, resolved_name)``.
    """
    import netket as nk

    name = resolve_sampler(name, system, model_name)
    check_int_at_least("chains", n_chains, 1)
    hi = system.hilbert
    kw = dict(n_chains=int(n_chains))
    if sweep_size is not None:
        kw["sweep_size"] = check_int_at_least("sweep_size", sweep_size, 1)
    if name == "local":
        return nk.sampler.MetropolisLocal(hi, **kw), name
    if name == "exchange":
        return nk.sampler.MetropolisExchange(hi, graph=system.graph, **kw), name
    if name == "hamiltonian":
        return nk.sampler.MetropolisHamiltonian(hi, system.operator, **kw), name
    if name == "fermion-hop":
        return nk.sampler.MetropolisFermionHop(hi, graph=system.graph, **kw), name
    if name == "direct":
        return nk.sampler.ARDirectSampler(hi), name
    return nk.sampler.ExactSampler(hi), name
