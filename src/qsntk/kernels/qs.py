r"""The quantum-state NTK: Θ, Φ, Ω and Ω_RI from the real blocks of any wavefunction.

For a wavefunction :math:`\psi_\theta(x) = \psi_R + i\psi_I` with real
parameters :math:`\theta`, write the real blocks

.. math::  K_{ab}(x, x') = \sum_i \partial_{\theta_i}\psi_a(x)\,\partial_{\theta_i}\psi_b(x'),
           \qquad a, b \in \{R, I\} \;(=\{1, 2\}).

Then (eq. 7 of Luo–Halverson)

.. math::  \Theta(x,x') = \sum_i \partial\psi(x)\,\partial\psi(x') = K_{11} - K_{22} + i(K_{12} + K_{21}),

.. math::  \Phi(x,x') = \sum_i \partial\psi(x)\,\partial\psi^*(x') = K_{11} + K_{22} + i(K_{21} - K_{12}),

:math:`\Omega = \begin{bmatrix}\Theta & \Phi\\ \Phi^* & \Theta^*\end{bmatrix}` (eq. 8), and
:math:`\Omega_{RI} = \begin{bmatrix}K_{11} & K_{12}\\ K_{21} & K_{22}\end{bmatrix}` (eq. 10),
the kernel of the real pair :math:`(\psi_1, \psi_2)`. The two are unitarily
equivalent: with :math:`T = \begin{bmatrix}1 & i\\ 1 & -i\end{bmatrix}`,
:math:`\Omega M = T\,\Omega_{RI}\,T^\dagger` where :math:`M = \begin{bmatrix}0&1\\1&0\end{bmatrix}`,
so :math:`\Omega M` is Hermitian positive semi-definite with eigenvalues twice
those of :math:`\Omega_{RI}`.

Shapes: real blocks are stored as one array ``K`` of shape ``(2, 2, n1, n2)``
with ``K[a, b] = K_ab``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp


class QSKernel(NamedTuple):
    """Θ and Φ on ``(n1, n2)`` points, complex.

    Attributes:
        theta: Θ(x, x'), the (complex) NTK, eq. 7.
        phi: Φ(x, x'), the Hermitian NTK, eq. 7.
    """

    theta: jnp.ndarray
    phi: jnp.ndarray

    @property
    def omega(self) -> jnp.ndarray:
        """Ω (eq. 8), shape ``(2 n1, 2 n2)``."""
        return omega(self.theta, self.phi)


def theta_phi(K: jnp.ndarray) -> QSKernel:
    """Θ and Φ from the real blocks ``K`` of shape ``(2, 2, n1, n2)`` (eq. 7)."""
    K11, K12, K21, K22 = K[0, 0], K[0, 1], K[1, 0], K[1, 1]
    return QSKernel(theta=(K11 - K22) + 1j * (K12 + K21),
                    phi=(K11 + K22) + 1j * (K21 - K12))


def real_blocks_from(qs: QSKernel) -> jnp.ndarray:
    """Invert :func:`theta_phi`: the real blocks ``(2, 2, n1, n2)`` from Θ and Φ."""
    th, ph = qs.theta, qs.phi
    K11 = 0.5 * (th.real + ph.real)
    K22 = 0.5 * (ph.real - th.real)
    K12 = 0.5 * (th.imag - ph.imag)
    K21 = 0.5 * (th.imag + ph.imag)
    return jnp.stack([jnp.stack([K11, K12]), jnp.stack([K21, K22])])


def omega(theta: jnp.ndarray, phi: jnp.ndarray) -> jnp.ndarray:
    """Ω = [[Θ, Φ], [Φ*, Θ*]] (eq. 8), shape ``(2 n1, 2 n2)``."""
    return jnp.block([[theta, phi], [jnp.conj(phi), jnp.conj(theta)]])


def omega_ri(K: jnp.ndarray) -> jnp.ndarray:
    """Ω_RI = [[K11, K12], [K21, K22]] (eq. 10), shape ``(2 n1, 2 n2)``, real."""
    return jnp.block([[K[0, 0], K[0, 1]], [K[1, 0], K[1, 1]]])


def decoupled_blocks(K_re: jnp.ndarray, K_im: jnp.ndarray) -> jnp.ndarray:
    """Real blocks of ψ = ψ1 + iψ2 with independent parameters: diag(Θ1, Θ2), K12 = K21 = 0.

    Then Θ = Θ1 − Θ2 and Φ = Θ1 + Θ2 (the "decoupled dynamics" of the paper's
    supplement, used in its sec. 6).
    """
    zero = jnp.zeros_like(K_re)
    return jnp.stack([jnp.stack([K_re, zero]), jnp.stack([zero, K_im])])
