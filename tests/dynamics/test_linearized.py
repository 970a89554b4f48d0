"""The analytic solution (eqs. 13–18) against explicit gradient descent, the complex
ΩM form, Monte-Carlo over initial networks, and the joint-channel path."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

from qsntk.dynamics import linearized as lin
from qsntk.dynamics.supervised import (analytic_losses, ensemble_losses, prepare, random_split)
from qsntk.errors import InputError
from qsntk.kernels import infinite_real_blocks, real_blocks, theta_phi
from qsntk.nets import ComplexFCNet, as_wavefunction, init_params, paper_pair

N_STATES, N_TRAIN = 40, 25
X = jnp.sign(jax.random.normal(jax.random.PRNGKey(1), (N_STATES, 12)))
_r = np.random.default_rng(2)
PSI_T = (_r.normal(size=N_STATES) + 1j * _r.normal(size=N_STATES)) / np.sqrt(2 * N_STATES)
SPLIT = random_split(N_STATES, N_TRAIN, seed=3)

MODELS = {"pair": paper_pair(30), "complex": ComplexFCNet((16, 8), activation="tanh")}


def _linearized_gd(model, eta, record):
    """Explicit GD on the linearized model f0 + J(θ−θ0), in parameter space (jax.linearize)."""
    params = init_params(model, 12, key=jax.random.PRNGKey(0))
    psi = as_wavefunction(model)
    f0, jvp = jax.linearize(lambda p: psi(p, X), params)
    tr = jnp.asarray(SPLIT.train)
    y = jnp.asarray(PSI_T)

    def loss(dp):
        return jnp.mean(jnp.abs(f0[tr] + jvp(dp)[tr] - y[tr]) ** 2)

    @jax.jit
    def run(dp, n):
        def body(_, dp):
            g = jax.grad(loss)(dp)
            return jax.tree_util.tree_map(lambda a, b: a - eta * b, dp, g)
        return jax.lax.fori_loop(0, n, body, dp)

    dp = jax.tree_util.tree_map(jnp.zeros_like, params)
    out, last = [], 0
    for t in record:
        dp = run(dp, t - last) if t > last else dp
        last = t
        f = np.asarray(f0 + jvp(dp))
        out.append([np.mean(np.abs(f[i] - PSI_T[i]) ** 2) for i in SPLIT])
    return np.array(out), np.asarray(f0), params


def _problem(model):
    params = init_params(model, 12, key=jax.random.PRNGKey(0))
    return prepare(real_blocks(model, params, X), PSI_T, SPLIT)


@pytest.mark.parametrize("name", MODELS)
def test_discrete_solution_equals_explicit_linearized_gd(name):
    """Decoupled (pair) and coupled (complex head) kernels, at η = 0.9 η_max."""
    model = MODELS[name]
    prob = _problem(model)
    assert len(prob.channels) == (2 if name == "pair" else 1)
    eta = 0.9 * prob.eta_max
    steps = np.array([0, 1, 3, 10, 40, 150])
    sim, f0, _ = _linearized_gd(model, eta, steps)
    ana = ensemble_losses(prob, eta * steps, f0[:, None], SPLIT, PSI_T, eta=eta)
    np.testing.assert_allclose(ana["train"][:, 0], sim[:, 0], rtol=1e-9)
    np.testing.assert_allclose(ana["test"][:, 0], sim[:, 1], rtol=1e-9)
    assert sim[-1, 0] < 0.2 * sim[0, 0]  # it actually learned


def test_gradient_flow_matches_small_step_gd_to_1e_6():
    """At η = 1e-6 η_max, 10^5 explicit steps track the continuous-time curve to ≤ 1e-6."""
    model = MODELS["pair"]
    prob = _problem(model)
    eta = 1e-6 * prob.eta_max
    steps = np.array([0, 30_000, 100_000])
    sim, f0, _ = _linearized_gd(model, eta, steps)
    flow = ensemble_losses(prob, eta * steps, f0[:, None], SPLIT, PSI_T)  # eta=None: gradient flow
    rel = np.abs(flow["train"][:, 0] - sim[:, 0]) / sim[:, 0]
    assert rel.max() < 1e-6, rel
    assert sim[-1, 0] < 0.95 * sim[0, 0]  # the curve moved measurably


def test_complex_omega_m_form_equals_real_form():
    """Eq. 13 as written: d(Ψ, Ψ*)/dτ = −(1/|B|) Ω M (Ψ − Ψ_T, c.c.), M = [[0, 1], [1, 0]]."""
    model = MODELS["complex"]
    params = init_params(model, 12, key=jax.random.PRNGKey(0))
    K = real_blocks(model, params, X)
    prob = prepare(K, PSI_T, SPLIT)
    f0 = np.asarray(as_wavefunction(model)(params, X))
    qs = theta_phi(np.asarray(K)[..., SPLIT.train[:, None], SPLIT.train[None, :]])
    n = N_TRAIN
    Om = np.block([[qs.theta, qs.phi], [qs.phi.conj(), qs.theta.conj()]])
    M = np.block([[np.zeros((n, n)), np.eye(n)], [np.eye(n), np.zeros((n, n))]])
    r0 = f0[SPLIT.train] - PSI_T[SPLIT.train]
    # eigenvalues of ΩM are twice those of Ω_RI
    ev = np.sort(np.linalg.eigvals(Om @ M).real)
    np.testing.assert_allclose(ev, np.sort(2 * np.concatenate([c.evals for c in prob.channels])),
                               atol=1e-10 * ev.max())
    for tau in (0.0, 3.0, 40.0):
        rt = scipy.linalg.expm(-tau / n * Om @ M) @ np.concatenate([r0, r0.conj()])
        np.testing.assert_allclose(rt[n:], rt[:n].conj(), atol=1e-12)
        loss = np.mean(np.abs(rt[:n]) ** 2)
        ana = ensemble_losses(prob, [tau], f0[:, None], SPLIT, PSI_T)["train"][0, 0]
        assert abs(loss - ana) < 1e-12 * max(1.0, loss)


def test_closed_form_variance_matches_monte_carlo_over_initial_functions():
    """L_Ψ = L_μ + L_γ (eq. 18) for f0 ~ GP(0, 𝒦): mean over 4000 draws, within 4 s.e."""
    pair = paper_pair(1)
    ntk = np.asarray(infinite_real_blocks(pair, X, get="ntk"))
    nngp = np.asarray(infinite_real_blocks(pair, X, get="nngp"))
    prob = prepare(ntk, PSI_T, SPLIT, nngp=nngp)
    taus = np.array([0.0, 0.3, 3.0, 30.0, np.inf]) * prob.eta_max
    ana = analytic_losses(prob, taus)
    rng = np.random.default_rng(5)
    L = np.linalg.cholesky(nngp[0, 0] + 1e-12 * np.eye(N_STATES))
    E = 4000
    f0 = L @ rng.normal(size=(N_STATES, E)) + 1j * (L @ rng.normal(size=(N_STATES, E)))
    mc = ensemble_losses(prob, taus, f0, SPLIT, PSI_T)
    for s in ("train", "test"):
        mean, se = mc[s].mean(1), mc[s].std(1) / np.sqrt(E)
        z = np.abs(mean - ana[f"{s}_psi"]) / np.maximum(se, 1e-300)
        assert np.all((z < 4) | (np.abs(mean - ana[f"{s}_psi"]) < 1e-12)), (s, z)
    assert ana["train_psi"][-1] <= 1e-8 * ana["train_psi"][0]  # τ = ∞ fits the train set
    np.testing.assert_allclose(ana["test_psi"][-1], ana["test_mu"][-1] + ana["test_gamma"][-1])


def test_joint_channel_equals_split_channels_on_a_decoupled_kernel():
    pair = paper_pair(1)
    ntk = np.asarray(infinite_real_blocks(pair, X, get="ntk"))
    nngp = np.asarray(infinite_real_blocks(pair, X, get="nngp"))
    split_prob = prepare(ntk, PSI_T, SPLIT, nngp=nngp)
    # a vanishing coupling (exactly zero kernel but marked nonzero) forces the joint path
    ntk_c = ntk.copy()
    ntk_c[0, 1, 0, 0] = ntk_c[1, 0, 0, 0] = 1e-300
    joint_prob = prepare(ntk_c, PSI_T, SPLIT, nngp=nngp)
    assert len(split_prob.channels) == 2 and len(joint_prob.channels) == 1
    taus = np.array([0.0, 1.0, 10.0, np.inf]) * split_prob.eta_max
    a, b = analytic_losses(split_prob, taus), analytic_losses(joint_prob, taus)
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-9, atol=1e-15)


def test_learning_rate_bound():
    prob = _problem(MODELS["pair"])
    lam = np.concatenate([c.evals for c in prob.channels])
    for f, grows in ((0.99, False), (1.01, True)):
        d = lin.decay(lam, N_TRAIN, [f * prob.eta_max * 2000], eta=f * prob.eta_max)
        assert (np.abs(d).max() > 1) == grows
        d_inf = lin.decay(lam, N_TRAIN, [np.inf], eta=f * prob.eta_max)
        assert np.isinf(d_inf).any() == grows and np.all((d_inf == 0) | np.isinf(d_inf))


def _feature_channel(rows, n_test=7, seed=11):
    """A real kernel K = F Fᵀ of random features on ``rows`` train + ``n_test`` test inputs;
    repeating a train row makes the train block singular."""
    rng = np.random.default_rng(seed)
    F = rng.normal(size=(rows + n_test, 30)) / np.sqrt(30)
    return F, rng.normal(size=rows + n_test)


def test_tau_infinity_is_the_kernel_regression_solve():
    """Positive-definite train block: μ(∞) = K_xB K_BB⁻¹ y (np.linalg.solve) and Ψ_B(∞) = y_B."""
    F, y = _feature_channel(20)
    K = F @ F.T
    tr, te = np.arange(20), np.arange(20, 27)
    ch = lin.make_channel(K[np.ix_(tr, tr)], K[np.ix_(te, tr)], y[tr], y[te])
    assert ch.evals.min() > 1e-3 * ch.evals.max()
    p = lin.predict_channel(ch, 20, [np.inf], eta=0.9 * 20 / ch.evals.max())
    np.testing.assert_allclose(p["mu_train"][0], y[tr], atol=1e-12)
    np.testing.assert_allclose(p["mu_test"][0], K[np.ix_(te, tr)] @ np.linalg.solve(K[np.ix_(tr, tr)], y[tr]),
                               rtol=1e-9)


@pytest.mark.parametrize("eta_factor", [None, 0.9])
def test_tau_infinity_of_a_singular_kernel_is_its_large_time_limit(eta_factor):
    """A repeated train input with a different target cannot be fitted: the train loss at τ = ∞
    is the null-space residual, equal to the loss at very large finite τ and to the
    pseudo-inverse (lstsq) solution; the test prediction is K_xB K_BB⁺ y."""
    F, y = _feature_channel(20)
    F = np.vstack([F[:20], F[:1], F[20:]])           # train row 0 repeated as train row 20
    y = np.concatenate([y[:20], [y[0] + 1.0], y[20:]])
    K = F @ F.T
    tr, te = np.arange(21), np.arange(21, 28)
    Kbb = K[np.ix_(tr, tr)]
    ch = lin.make_channel(Kbb, K[np.ix_(te, tr)], y[tr], y[te])
    assert (~ch.keep).sum() == 1                      # exactly one null mode
    eta = None if eta_factor is None else eta_factor * 21 / ch.evals.max()
    lam_min = ch.evals[ch.keep].min()
    big = 200 * 21 / lam_min                           # e^{-400} of the slowest learnable mode
    L = lin.channel_losses(ch, 21, 7, [big, np.inf], eta=eta)
    np.testing.assert_allclose(L["train_mu"][1], L["train_mu"][0], rtol=1e-9)
    np.testing.assert_allclose(L["train_mu"][1], 0.5, rtol=1e-9)   # (±1/2)² twice: the rows' mean is fitted
    fit = K[np.ix_(te, tr)] @ np.linalg.lstsq(Kbb, y[tr], rcond=1e-10)[0]
    p = lin.predict_channel(ch, 21, [big, np.inf], eta=eta)
    np.testing.assert_allclose(p["mu_test"][1], fit, rtol=1e-8)
    np.testing.assert_allclose(p["mu_test"][0], fit, rtol=1e-8)


def test_explicit_gd_diverges_just_above_eta_max_and_converges_just_below():
    """η_max = |B|/λ_max(Ω_RI) from explicit GD of the linearized model, not from the formula."""
    model = MODELS["pair"]
    prob = _problem(model)
    losses = {}
    for f in (0.98, 1.02):
        sim, _, _ = _linearized_gd(model, f * prob.eta_max, [0, 400])
        losses[f] = sim[:, 0]
    assert losses[0.98][1] < losses[0.98][0]
    assert losses[1.02][1] > 1e3 * losses[1.02][0]


def test_bad_inputs_are_named():
    prob_K = np.zeros((2, 2, N_STATES, N_STATES))
    with pytest.raises(InputError, match="train size"):
        random_split(10, 11, seed=0)
    with pytest.raises(InputError, match="NTK blocks must have shape"):
        prepare(prob_K[:, :, :5], PSI_T, SPLIT)
    bad = PSI_T.copy()
    bad[3] = np.nan
    with pytest.raises(InputError, match="target"):
        prepare(prob_K, bad, SPLIT)
    with pytest.raises(InputError, match="largest kernel eigenvalue"):
        lin.eta_max(0.0, 10)
    F, y = _feature_channel(5, n_test=3)
    K = F @ F.T
    Kxb = K[5:, :5].copy()
    Kxb[1, 2] = np.inf
    with pytest.raises(InputError, match="test-train kernel"):
        lin.make_channel(K[:5, :5], Kxb, y[:5], y[5:])
    with pytest.raises(InputError, match="NNGP test diagonal"):
        lin.make_channel(K[:5, :5], K[5:, :5], y[:5], y[5:], nngp_train=K[:5, :5],
                         nngp_test_train=K[5:, :5], nngp_test_diag=np.array([1.0, np.nan, 1.0]))
    prob = _problem(MODELS["pair"])
    f0 = np.ones((N_STATES, 2), complex)
    f0[4, 1] = np.nan
    with pytest.raises(InputError, match="initial outputs"):
        ensemble_losses(prob, [0.0], f0, SPLIT, PSI_T)
