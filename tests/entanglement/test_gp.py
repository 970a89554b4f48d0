"""The exact NNGP replica bound against closed forms, a second evaluator and Monte Carlo."""

import numpy as np
import pytest

from qsntk.entanglement import gp
from qsntk.entanglement import page as pg
from qsntk.entanglement.ensembles import network_pair
from qsntk.errors import InputError
from qsntk.nets import CosNet, GaussNet, RealImagPair, paper_pair

CUTS6 = [range(k) for k in range(1, 6)] + [[0, 2, 5], [1, 4]]


def _mixed():
    return RealImagPair(re=CosNet(10, sigma_w=0.8), im=GaussNet(10, sigma_w=1.3, sigma_b=0.2, sigma_out=0.3))


@pytest.mark.parametrize("real", [False, True])
def test_iid_limit_is_page_annealed_value(real):
    n = 12
    rb = gp.replica_bound(gp.iid_gp(n, real=real), [range(k) for k in range(1, n)])
    f = pg.real_haar_purity if real else pg.haar_purity
    exact = np.array([f(*pg.subsystem_dims(k, n)) for k in range(1, n)])
    assert np.allclose(rb.purity, exact, rtol=1e-13)
    assert np.allclose(rb.purity_ratio, exact, rtol=1e-13)       # direction independent of norm here
    assert abs(rb.norm_check) < 1e-13 and rb.error < 1e-12
    assert np.all(rb.bound <= -np.log(exact)) and np.allclose(rb.bound, -np.log(exact), atol=1e-10)


@pytest.mark.parametrize("model", [CosNet(10, sigma_w=1.0), paper_pair(10), _mixed()],
                         ids=["cosnet", "relu", "cos+gauss"])
def test_walsh_evaluator_matches_dense_evaluator(model):
    n = 6
    walsh = gp.gp_from_model(model, n)
    dense = gp.gp_from_model(model, n, dense=True)
    assert isinstance(walsh, gp.FlipInvariantGP) and isinstance(dense, gp.DenseGP)
    for Kw, Kd in zip(walsh.kernels(), dense.kernels()):
        assert np.allclose(Kw, Kd, atol=1e-12)
    a, b = gp.replica_bound(walsh, CUTS6), gp.replica_bound(dense, CUTS6)
    assert np.allclose(a.purity, b.purity, rtol=1e-11)
    assert np.allclose(a.purity_ratio, b.purity_ratio, rtol=1e-12)
    assert a.error < 1e-10 and b.error < 1e-8


def test_quadrature_is_converged():
    g = gp.gp_from_model(CosNet(10, sigma_w=0.7), 8)
    cuts = [range(k) for k in range(1, 8)]
    a, b = gp.replica_bound(g, cuts), gp.replica_bound(g, cuts, step=0.3)
    assert np.allclose(a.purity, b.purity, rtol=1e-12)
    assert abs(a.norm_check) < 1e-12 and np.all(a.purity <= 1) and np.all(a.purity >= 0)


@pytest.mark.parametrize("model", [CosNet(10, sigma_w=1.0), _mixed()], ids=["cosnet", "cos+gauss"])
def test_exact_purity_matches_monte_carlo_of_gaussian_vectors(model):
    n = 8
    g = gp.gp_from_model(model, n)
    cuts = [range(k) for k in range(1, n)] + [[0, 3, 6]]
    rb = gp.replica_bound(g, cuts)
    mc = gp.mc_purity(g, cuts, 3000, seed=5)
    assert np.all(np.abs(mc.purity - rb.purity) < 4 * mc.purity_se)           # normalized draws
    assert np.all(np.abs(mc.neglog - rb.bound) < 4 * mc.neglog_se + rb.error)
    assert np.all(np.abs(mc.ratio - rb.purity_ratio) < 4 * mc.ratio_se)       # annealed ratio
    assert np.all(rb.bound <= mc.s2 + 2 * mc.s2_se)                          # Jensen: bound <= <S_2>
    assert np.all(mc.s2 >= mc.neglog)                                         # Jensen on the sample


def test_normalization_matters_away_from_iid():
    """At small sigma_w the normalized purity and the annealed ratio differ; MC sides with the former."""
    n = 8
    g = gp.gp_from_model(network_pair("cosnet", 1, sigma_w=0.5), n)
    cuts = [range(4)]
    rb = gp.replica_bound(g, cuts)
    mc = gp.mc_purity(g, cuts, 2000, seed=9)
    assert abs(rb.purity[0] - rb.purity_ratio[0]) > 20 * mc.purity_se[0]
    assert abs(mc.purity[0] - rb.purity[0]) < 4 * mc.purity_se[0]


def test_flip_invariance_detection_and_dense_fallback():
    relu = paper_pair(10)
    g = gp.gp_from_model(relu, 5, local_values=(1.0, 0.3))          # |x|^2 varies: not invariant
    assert isinstance(g, gp.DenseGP)
    with pytest.raises(InputError, match="not flip-invariant"):
        gp.gp_from_model(relu, 5, local_values=(1.0, 0.3), dense=False)
    q4 = gp.gp_from_model(CosNet(10, sigma_w=1.0), 3, local_values=(-1.5, -0.5, 0.5, 1.5))
    assert isinstance(q4, gp.DenseGP) and q4.dim == 64
    rb = gp.replica_bound(q4, [[0], [1, 2]])
    mc = gp.mc_purity(q4, [[0], [1, 2]], 3000, seed=2)
    assert np.all(np.abs(mc.purity - rb.purity) < 4 * mc.purity_se)


def test_walsh_transform_and_bad_kernels():
    v = np.random.default_rng(0).standard_normal(16)
    H = np.array([[(-1) ** bin(s & z).count("1") for z in range(16)] for s in range(16)])
    assert np.allclose(gp.walsh_hadamard(v), H @ v)
    with pytest.raises(InputError, match="power-of-two"):
        gp.walsh_hadamard(np.ones(6))
    with pytest.raises(InputError, match="not positive semi-definite"):
        gp.FlipInvariantGP.from_rows(np.array([0.0, 1.0, 0.0, 0.0]), n_sites=2)
    with pytest.raises(InputError, match="must have shape"):
        gp.gp_from_kernels(np.eye(3), n_sites=2)
    with pytest.raises(InputError, match="not symmetric"):
        gp.gp_from_kernels(np.triu(np.ones((4, 4))), n_sites=2, dense=True)
