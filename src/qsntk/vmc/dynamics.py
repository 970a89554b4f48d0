r"""Real-time dynamics by time-dependent VMC (NetKet's TDVP) against exact evolution.

The time-dependent variational principle of the VMC review's "Challenges for
time dynamics" section: the parameters follow
:math:`S\,\dot\theta = -i\,F` with the QGT :math:`S` and forces
:math:`F_k = \langle O_k^* (E_{loc} - \langle E_{loc}\rangle)\rangle` — in the
lens language (:mod:`qsntk.vmc.lens`), real-time TDVP is the SR flow with
:math:`\tau \to i t`. We use ``netket.experimental.TDVP`` with a fixed-step
Runge–Kutta integrator on a full-sum state (``nk.vqs.FullSumState``: exact
expectation values, no Monte-Carlo noise, small systems) or a Monte-Carlo state,
and compare with :func:`qsntk.physics.evolve` (Krylov e^{−iHt}) on the full basis.

Initial state: |+⟩^⊗N, the quench of Luo–Halverson sec. 6 (``tfim-quench``).
Models: ``jastrow`` — NetKet's two-body Jastrow
:math:`\log\psi = \sum_{i<j} W_{ij}\sigma_i\sigma_j` (complex W), exactly |+⟩ at W = 0,
whose tangent space holds the σᶻσᶻ correlations the quench builds first; ``rbm`` —
a complex RBM whose NetKet initialization is scaled by ``init_scale`` (≈ |+⟩; at
exactly zero its W-derivatives vanish, tanh 0 = 0, and TDVP cannot leave |+⟩).
"""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np

from qsntk.errors import InputError, check_int_at_least, check_positive
from qsntk.physics.exact import check_times

__all__ = ["tdvp_quench"]


def _observable(system, name):
    """⟨O⟩ per site as (NetKet operator, sparse matrix) for ``sx`` or ``zz`` (nearest neighbours)."""
    import netket as nk
    import scipy.sparse as sp

    hi, n = system.hilbert, system.n_sites
    if name == "sx":
        op = sum(nk.operator.spin.sigmax(hi, i) for i in range(n)) * (1.0 / n)
    elif name == "zz":
        b = system.bonds
        op = sum(nk.operator.spin.sigmaz(hi, int(i)) @ nk.operator.spin.sigmaz(hi, int(j))
                 for i, j in b) * (1.0 / len(b))
    else:
        raise InputError(f"unknown observable {name!r}; choose sx or zz")
    return op, sp.csr_matrix(op.to_sparse())


def tdvp_quench(system, *, t_final: float = 1.0, dt: float = 0.01, model: str = "jastrow",
                alpha: float = 1.0, init_scale: float = 1e-2,
                n_samples: int | None = None, diag_shift: float = 1e-6,
                observables=("sx", "zz"), n_record: int = 21, seed: int = 0) -> dict:
    r"""Quench from |+⟩^⊗N under ``system``'s Hamiltonian: TDVP (NetKet) vs exact evolution.

    Arguments:
        system: a spin :class:`~qsntk.physics.System` on the full space (``tfim``,
            or heisenberg/j1j2 without sz0), at most 2^16 states.
        t_final: final time t.
        dt: RK4 step.
        model: ``jastrow`` (exact |+⟩ at t = 0) or ``rbm``.
        alpha: hidden-unit density of the RBM.
        init_scale: factor on the RBM's initial parameters.
        n_samples: None for a full-sum state (exact expectations); else Monte-Carlo
            samples per step (MetropolisLocal, 16 chains).
        diag_shift: regularization of the QGT in the TDVP linear solve
            (``QGTJacobianDense(holomorphic=True, diag_shift=…)``, pseudo-inverse solver).
        observables: subset of ``("sx", "zz")``: mean σˣ per site, mean σᶻσᶻ per bond.
        n_record: number of equally spaced times recorded (t = 0 included).
        seed: seeds the RBM's (zero-set) initialization and the sampler.

    Returns:
        dict with ``times`` (n_record,), for each observable ``{name}_tdvp`` and
        ``{name}_exact`` (n_record,), ``fidelity`` :math:`|\langle\psi_{exact}(t)|\psi_\theta(t)\rangle|^2`
        (n_record,), ``energy_tdvp`` (n_record,) and ``energy_exact`` (a constant).
    """
    import jax
    import jax.numpy as jnp
    import netket as nk
    import netket.experimental as nkx

    from qsntk.physics import evolve, plus_state

    if system.is_fermionic or system.sz0:
        raise InputError("tdvp_quench starts from |+>: it needs a spin system on the full space")
    if system.dim > 2**16:
        raise InputError(f"tdvp_quench compares with the full basis; {system.dim} states > 65536")
    check_positive("t_final", t_final)
    check_positive("dt", dt)
    check_positive("alpha", alpha)
    check_positive("diag_shift", diag_shift, strict=False)
    check_int_at_least("n_record", n_record, 2)
    times = np.linspace(0.0, float(t_final), int(n_record))
    check_times(times)
    from qsntk.errors import check_choice

    check_choice("model", model, ("jastrow", "rbm"))
    net = (nk.models.Jastrow(param_dtype=complex) if model == "jastrow"
           else nk.models.RBM(alpha=alpha, param_dtype=complex))
    if n_samples is None:
        vs = nk.vqs.FullSumState(system.hilbert, net, seed=seed)
    else:
        check_int_at_least("samples", n_samples, 16)
        sampler = nk.sampler.MetropolisLocal(system.hilbert, n_chains=16)
        vs = nk.vqs.MCState(sampler, net, n_samples=n_samples, seed=seed, sampler_seed=seed + 1)
    scale = 0.0 if model == "jastrow" else float(init_scale)      # Jastrow at 0 is exactly |+>
    vs.parameters = jax.tree_util.tree_map(lambda p: scale * p, vs.parameters)
    H = system.operator
    qgt = nk.optimizer.qgt.QGTJacobianDense(holomorphic=True, diag_shift=diag_shift)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        drv = nkx.TDVP(H, vs, nkx.dynamics.RK4(dt=dt), qgt=qgt,
                       linear_solver=nk.optimizer.solver.pinv_smooth)
    basis = jnp.asarray(system.basis())
    Hs = system.sparse_hamiltonian()
    ops = {name: _observable(system, name) for name in observables}
    out = {"times": times, "fidelity": [], "energy_tdvp": []}
    for name in observables:
        out[f"{name}_tdvp"] = []
        out[f"{name}_exact"] = []
    exact = evolve(Hs, plus_state(system.n_sites), times)
    for k, t in enumerate(times):
        if t > drv.t + 1e-12:
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                warnings.simplefilter("ignore")
                drv.run(float(t - drv.t), show_progress=False)
        logs = np.asarray(vs.log_value(basis))
        psi = np.exp(logs - logs.real.max())
        psi = psi / np.linalg.norm(psi)
        out["fidelity"].append(float(abs(np.vdot(exact[k], psi)) ** 2))
        out["energy_tdvp"].append(float(np.real(np.vdot(psi, Hs @ psi))))
        for name, (_, mat) in ops.items():
            out[f"{name}_tdvp"].append(float(np.real(np.vdot(psi, mat @ psi))))
            out[f"{name}_exact"].append(float(np.real(np.vdot(exact[k], mat @ exact[k]))))
    out["energy_exact"] = float(np.real(np.vdot(exact[0], Hs @ exact[0])))
    return {k: (np.asarray(v) if isinstance(v, list) else v) for k, v in out.items()}
