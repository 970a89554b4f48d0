"""Flax networks for neural-network quantum states.

* :class:`FCNet` -- fully connected, any depth, NTK or standard parameterization;
  :func:`paper_net` is Luo–Halverson's one-hidden-layer ReLU network.
* :class:`CosNet`, :class:`GaussNet` -- random-feature networks with Gaussian kernels.
* :class:`RealImagPair`, :class:`ComplexHead`, :class:`ComplexFCNet`,
  :class:`LogAmplitude` and :func:`as_wavefunction` -- from networks to complex wavefunctions.
"""

from qsntk.nets.activations import ACTIVATIONS, get_activation
from qsntk.nets.fc import Dense, FCNet, dense_layers, init_params, paper_net
from qsntk.nets.features import CosNet, GaussNet
from qsntk.nets.wavefunctions import (ComplexFCNet, ComplexHead, LogAmplitude, RealImagPair,
                                      as_wavefunction, paper_pair)

__all__ = ["ACTIVATIONS", "get_activation", "Dense", "FCNet", "dense_layers", "init_params",
           "paper_net", "CosNet", "GaussNet", "ComplexFCNet", "ComplexHead", "LogAmplitude",
           "RealImagPair", "as_wavefunction", "paper_pair"]
