"""qsntk: the tangent-kernel theory of quantum states.

Layers (imports run downward only)::

    physics, nets  ->  kernels  ->  dynamics, entanglement, circuits, vmc  ->  experiments  ->  cli

Double precision is switched on when qsntk is imported (physics needs it); see
:func:`qsntk.config.set_precision` for the float32 switch.
"""

from qsntk import config as _config
from qsntk.config import default_dtype, set_precision
from qsntk.errors import InputError

_config._apply_default()

__version__ = "0.1.0"
__all__ = ["InputError", "default_dtype", "set_precision", "__version__"]
