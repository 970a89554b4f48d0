r"""The infinite-width energy flow: eq. 9 of Luo–Halverson with the VMC loss, on the full basis.

For :math:`L = \langle\psi|H|\psi\rangle/\langle\psi|\psi\rangle` (sec. 4: the VMC loss)

.. math::  \frac{\partial L}{\partial\psi^*(x)} = \frac{(H\psi)(x) - L\,\psi(x)}{\langle\psi|\psi\rangle},
           \qquad \frac{\partial L}{\partial\psi(x)} = \Big(\frac{\partial L}{\partial\psi^*(x)}\Big)^*,

and gradient descent on the parameters moves the wavefunction by eq. 6,

.. math::  \frac{d\psi}{d\tau} = -\eta\,\big[\Theta\,\partial_{\psi}L + \Phi\,\partial_{\psi^*}L\big],

i.e. :math:`d\Psi/d\tau = -\eta\,\Omega\,\partial L/\partial\Psi` (eq. 9). For the
∞-NNQS :math:`\psi = \psi_1 + i\psi_2` of two independent networks the QS-NTK is
frozen at its infinite-width value (eqs. 11–12) with Θ = Θ_1 − Θ_2 and
Φ = Θ_1 + Θ_2 (:func:`qsntk.kernels.infinite_real_blocks`). Unlike the supervised
loss this ODE is nonlinear in ψ; it is integrated with an adaptive Runge–Kutta
solver (``scipy.integrate.solve_ivp``, RK45/DOP853).

:func:`finite_energy_gd` is the comparison: exact full-sum gradient descent of a
finite-width :class:`~qsntk.nets.RealImagPair` on the same basis from the same
initial network; as the width grows its trajectory approaches the frozen-kernel
flow started from the same initial function.
"""

from __future__ import annotations

import numpy as np

from qsntk.errors import InputError, check_int_at_least, check_positive

__all__ = ["energy_gradient", "infinite_energy_flow", "finite_energy_gd", "trajectory_summary"]


def energy_gradient(H, psi: np.ndarray) -> tuple[float, np.ndarray]:
    r"""``(L, ∂L/∂ψ*)`` for :math:`L = \langle\psi|H|\psi\rangle/\langle\psi|\psi\rangle`.

    Arguments:
        H: sparse Hermitian matrix (dim, dim).
        psi: complex (dim,).

    Returns:
        the energy L (float) and :math:`(H\psi - L\psi)/\langle\psi|\psi\rangle`, complex (dim,).
    """
    Hpsi = H @ psi
    nrm = float(np.real(np.vdot(psi, psi)))
    L = float(np.real(np.vdot(psi, Hpsi))) / nrm
    return L, (Hpsi - L * psi) / nrm


def infinite_energy_flow(H, K: np.ndarray, psi0: np.ndarray, taus, *, eta: float = 1.0,
                         Theta: np.ndarray | None = None, method: str = "DOP853",
                         rtol: float = 1e-8, atol: float = 1e-10) -> np.ndarray:
    r"""Integrate :math:`d\psi/d\tau = -\eta[\Theta\,\partial_\psi L + \Phi\,\partial_{\psi^*}L]` with a frozen kernel.

    Arguments:
        H: sparse Hamiltonian (dim, dim).
        K: the Hermitian NTK Φ on the basis (dim, dim); for identical independent
            real and imaginary networks Φ = 2Θ_∞ and Θ = 0.
        psi0: initial wavefunction (dim,), e.g. the finite network at initialization.
        taus: increasing times τ ≥ 0 at which to return ψ.
        eta: learning rate η. Gradient descent with step η for n steps is this
            flow at τ = nη with ``eta=1`` (:func:`finite_energy_gd` returns those τ).
        Theta: the (complex) NTK Θ (dim, dim), None for Θ = 0.
        method, rtol, atol: ``solve_ivp`` settings (adaptive step).

    Returns:
        complex (len(taus), dim).
    """
    from scipy.integrate import solve_ivp

    taus = np.asarray(taus, dtype=float)
    if np.any(np.diff(taus) < 0) or taus[0] < 0:
        raise InputError("taus must be increasing and >= 0")
    check_positive("eta", eta)
    Phi = np.asarray(K)
    psi0 = np.asarray(psi0, dtype=np.complex128)
    dim = len(psi0)

    def apply_phi(g):
        if np.iscomplexobj(Phi):
            return Phi @ g
        # real Φ: one real (dim, dim) @ (dim, 2) product; ``Phi @ g`` would cast Φ to
        # complex, copying the whole matrix at every right-hand side
        out = Phi @ np.stack([g.real, g.imag], axis=1)
        return out[:, 0] + 1j * out[:, 1]

    def rhs(_t, y):
        psi = y[:dim] + 1j * y[dim:]
        _, g = energy_gradient(H, psi)
        d = apply_phi(g)
        if Theta is not None:
            d = d + Theta @ np.conj(g)
        d = -eta * d
        return np.concatenate([d.real, d.imag])

    sol = solve_ivp(rhs, (0.0, float(taus[-1])), np.concatenate([psi0.real, psi0.imag]),
                    t_eval=taus, method=method, rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    return (sol.y[:dim] + 1j * sol.y[dim:]).T


def finite_energy_gd(model, params, x, H, *, eta: float, steps: int, record_every: int = 1):
    r"""Full-sum gradient descent of a finite network on the energy, :math:`\theta \leftarrow \theta - \eta\nabla_\theta L`.

    Arguments:
        model: a flax module returning ψ(x) (complex), e.g. :func:`qsntk.nets.paper_pair`.
        params: its initial variables.
        x: network inputs on the full basis (dim, d) (:meth:`System.encode`).
        H: sparse Hamiltonian in the same basis order.
        eta: learning rate; the flow time after n steps is τ = nη.
        steps: number of steps.
        record_every: keep ψ every this many steps (and at 0).

    Returns:
        ``(taus, psis)``: times (n_rec,) and wavefunctions complex (n_rec, dim).
    """
    import jax
    import jax.numpy as jnp
    from jax.experimental import sparse as jsparse

    check_positive("eta", eta)
    check_int_at_least("steps", steps, 1)
    check_int_at_least("record_every", record_every, 1)
    Hj = jsparse.BCSR.from_scipy_sparse(H.astype(np.complex128))
    x = jnp.asarray(x)

    # H and x are arguments, not closed-over constants: XLA would constant-fold them
    def energy(p, Hm, xs):
        psi = model.apply(p, xs) + 0j
        return jnp.real(jnp.vdot(psi, Hm @ psi)) / jnp.real(jnp.vdot(psi, psi))

    @jax.jit
    def step(p, Hm, xs):
        g = jax.grad(energy)(p, Hm, xs)
        return jax.tree_util.tree_map(lambda a, b: a - eta * b, p, g)

    psi_jit = jax.jit(lambda p, xs: model.apply(p, xs) + 0j)
    psi_of = lambda p: psi_jit(p, x)  # noqa: E731
    taus, psis = [0.0], [np.asarray(psi_of(params))]
    for n in range(1, steps + 1):
        params = step(params, Hj, x)
        if n % record_every == 0 or n == steps:
            taus.append(n * eta)
            psis.append(np.asarray(psi_of(params)))
    return np.asarray(taus), np.asarray(psis)


def trajectory_summary(H, psis: np.ndarray, psi_ground: np.ndarray) -> dict:
    """Energies ⟨H⟩ and fidelities |⟨ψ0|ψ⟩|²/⟨ψ|ψ⟩ along a trajectory (n, dim)."""
    E, F = [], []
    for psi in psis:
        n = float(np.real(np.vdot(psi, psi)))
        E.append(float(np.real(np.vdot(psi, H @ psi))) / n)
        F.append(float(abs(np.vdot(psi_ground, psi)) ** 2) / n)
    return {"energy": np.asarray(E), "fidelity": np.asarray(F)}
