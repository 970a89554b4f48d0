"""Entanglement of neural-network quantum states (sec. 3 of Luo–Halverson, eqs. 1–4, Fig. 1).

* :mod:`~qsntk.entanglement.entropy` -- Schmidt spectra and Rényi/von Neumann
  entropies of (batches of) states for any bipartition, float64.
* :mod:`~qsntk.entanglement.sectors` -- symmetry sectors and Hubbard sites as
  4-level sites, with fermionic signs.
* :mod:`~qsntk.entanglement.page` -- Page's value and exact Haar Rényi-2 moments.
* :mod:`~qsntk.entanglement.ensembles` -- ensembles of random networks
  (CosNet, Gauss-net, the paper's ReLU net), vectorized over draws.
* :mod:`~qsntk.entanglement.gp` -- the NNGP replica bound of eqs. 1–2, exact by
  Wick's theorem with a provable treatment of normalization, and its
  Monte-Carlo check.
* :mod:`~qsntk.entanglement.drivers` -- run directories (``qsntk entanglement``).
"""

from qsntk.entanglement.ensembles import (NETS, draw_params, ensemble_entropies, network_pair,
                                          sample_states, summarize)
from qsntk.entanglement.entropy import (Cut, basis_cut, entropies, entropy_curve, prefix_cuts,
                                        product_cut, purities, renyi_entropy, schmidt_probabilities)
from qsntk.entanglement.gp import (DenseGP, FlipInvariantGP, McPurity, ReplicaBound, gp_from_kernels,
                                   gp_from_model, iid_gp, mc_purity, replica_bound)
from qsntk.entanglement.page import (haar_moment, haar_purity, haar_renyi2, haar_renyi2_annealed,
                                     page_curve, page_entropy, real_haar_purity)
from qsntk.entanglement.sectors import fermion_signs, hubbard_labels, system_cut

__all__ = [
    "Cut", "product_cut", "basis_cut", "prefix_cuts", "system_cut", "fermion_signs", "hubbard_labels",
    "schmidt_probabilities", "renyi_entropy", "entropies", "purities", "entropy_curve",
    "page_entropy", "page_curve", "haar_moment", "haar_purity", "haar_renyi2", "haar_renyi2_annealed",
    "real_haar_purity",
    "NETS", "network_pair", "draw_params", "sample_states", "ensemble_entropies", "summarize",
    "FlipInvariantGP", "DenseGP", "ReplicaBound", "McPurity", "gp_from_model", "gp_from_kernels",
    "iid_gp", "replica_bound", "mc_purity",
]
