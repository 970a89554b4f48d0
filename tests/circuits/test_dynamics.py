"""Gradient descent (eq. 4) against a plain loop, and the one-step expansion of eq. 13."""

import jax
import jax.numpy as jnp
import numpy as np

from qsntk.circuits import dynamics, haar, kernel, model


def _setup(n=2, L=6):
    circ = model.random_circuit(key=jax.random.PRNGKey(0), n_qubits=n, n_layers=L)
    O = model.observable_matrix(model.random_observable(key=jax.random.PRNGKey(1), n_qubits=n))
    comp = kernel.prepare(model.compile_circuit(circ))
    theta = jax.random.uniform(jax.random.PRNGKey(2), (L,), maxval=2 * np.pi)
    return comp, O, theta, jnp.zeros(2 ** n, complex).at[0].set(1.0)


def test_gradient_descent_matches_loop_and_eq13():
    comp, O, theta, psi0 = _setup()
    eta, steps, target = 0.05, 12, -0.3
    tr = dynamics.gradient_descent_batch(comp, O, theta[None], psi0, target, eta=eta, steps=steps)
    step = jax.jit(lambda t: kernel.residual_and_grad(comp, O, t, psi0, target))
    th, eps = theta, []
    for _ in range(steps + 1):
        e, g = step(th)
        eps.append(float(e))
        th = th - eta * e * g
    np.testing.assert_allclose(tr.eps[0], eps, atol=1e-13)
    # eq. 13: d eps = -eta K eps + eta^2 eps^2 mu / 2 + O(eta^3)
    st = jax.jit(kernel.qntk_stats)(comp, O, theta, psi0, target)
    err = []
    for eta in (1e-2, 5e-3):
        e1, _ = step(theta - eta * st.eps * st.grad)
        pred = -eta * st.K * st.eps + 0.5 * eta ** 2 * st.eps ** 2 * st.mu
        err.append(abs(e1 - st.eps - pred))
    assert err[1] < err[0] / 6                                 # third order: ratio ~ 8


def test_supervised_descent_matches_loop():
    comp, O, theta, _ = _setup()
    X = haar.haar_frame(key=jax.random.PRNGKey(3), dim=4, count=3)
    y = jnp.array([0.2, -0.1, 0.4])
    eta, steps = 0.03, 5
    tr = jax.jit(lambda t: dynamics.gradient_descent_supervised(comp, O, t, X, y, eta=eta, steps=steps))(theta)
    J = jax.jit(lambda t: kernel.jacobian_inputs(comp, O, t, X))
    res = jax.jit(jax.vmap(lambda psi, yy, t: kernel.residual(comp, O, t, psi, yy), in_axes=(0, 0, None)))
    th = theta
    for t in range(steps + 1):
        e = res(X, y, th)
        np.testing.assert_allclose(tr.eps[t], e, atol=1e-13)
        th = th - eta * (e @ J(th))
    # trace of the kernel matrix is the recorded K
    assert np.isclose(tr.K[0], np.trace(np.asarray(kernel.kernel_matrix(comp, O, theta, X))), rtol=1e-12)
