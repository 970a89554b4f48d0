"""Entanglement of neural-network quantum states (sec. 3 of Luo–Halverson, eqs. 1–4, Fig. 1).

* :mod:`~qsntk.entanglement.entropy` -- Schmidt spectra and Rényi/von Neumann
  entropies of (batches of) states for any bipartition, float64.
* :mod:`~qsntk.entanglement.sectors` -- symmetry sectors and Hubbard sites as
  4-level sites, with fermionic signs.
* :mod:`~qsntk.entanglement.page` -- Page's value and exact Haar Rényi-2 moments.
"""

from qsntk.entanglement.entropy import (Cut, basis_cut, entropies, entropy_curve, prefix_cuts,
                                        product_cut, purities, renyi_entropy, schmidt_probabilities)
from qsntk.entanglement.page import (haar_moment, haar_purity, haar_renyi2, haar_renyi2_annealed,
                                     page_curve, page_entropy, real_haar_purity)
from qsntk.entanglement.sectors import fermion_signs, hubbard_labels, system_cut

__all__ = [
    "Cut", "product_cut", "basis_cut", "prefix_cuts", "system_cut", "fermion_signs", "hubbard_labels",
    "schmidt_probabilities", "renyi_entropy", "entropies", "purities", "entropy_curve",
    "page_entropy", "page_curve", "haar_moment", "haar_purity", "haar_renyi2", "haar_renyi2_annealed",
    "real_haar_purity",
]
