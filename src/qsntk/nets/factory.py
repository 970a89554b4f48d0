"""Build the wavefunctions of the paper (and variations) from a few named settings.

Used by the command line and by experiment configs; in Python you can as well
compose the modules directly.
"""

from __future__ import annotations

from qsntk.errors import check_choice, check_finite, check_int_at_least

ARCHS = ("fc", "cosnet", "gaussnet")
WAVEFUNCTIONS = ("pair", "complex")


def make_wavefunction(arch: str = "fc", *, wavefunction: str = "pair", width: int = 5000,
                      depth: int = 1, activation: str = "relu", W_std: float = 0.5,
                      b_std: float | None = 0.1, parameterization: str = "ntk",
                      sigma_a: float = 1.0, sigma_w: float = 1.0):
    """A complex wavefunction module.

    Arguments:
        arch: ``fc`` (fully connected, :class:`~qsntk.nets.FCNet`), ``cosnet`` or ``gaussnet``.
        wavefunction: ``pair`` (ψ = ψ1 + iψ2 of two independent networks, the paper's)
            or ``complex`` (one network with two outputs; ``fc`` only).
        width, depth: hidden width and number of hidden layers (``depth`` for ``fc``).
        activation, W_std, b_std, parameterization: see :class:`~qsntk.nets.FCNet`.
        sigma_a, sigma_w: output and frequency scales of CosNet/Gauss-net.
    """
    from qsntk.nets.fc import FCNet
    from qsntk.nets.features import CosNet, GaussNet
    from qsntk.nets.wavefunctions import ComplexFCNet, RealImagPair

    check_choice("architecture", arch, ARCHS)
    check_choice("wavefunction", wavefunction, WAVEFUNCTIONS)
    check_int_at_least("width", width, 1)
    check_int_at_least("depth", depth, 1)
    # every scale given is checked, also those this architecture does not use (the command
    # line refuses those; a Python caller may pass them)
    for name, v in (("W_std", W_std), ("b_std", b_std), ("sigma_a", sigma_a), ("sigma_w", sigma_w)):
        if v is not None:
            check_finite(name, v)
    if arch == "fc":
        kw = dict(activation=activation, W_std=W_std, b_std=b_std, parameterization=parameterization)
        if wavefunction == "complex":
            return ComplexFCNet((width,) * depth, **kw)
        net = FCNet((width,) * depth, **kw)
        return RealImagPair(re=net, im=net.clone())
    if wavefunction == "complex":
        raise_complex = f"wavefunction 'complex' is only available for arch 'fc', not {arch!r}"
        from qsntk.errors import InputError

        raise InputError(raise_complex)
    cls = CosNet if arch == "cosnet" else GaussNet
    net = cls(width, sigma_a=sigma_a, sigma_w=sigma_w, parameterization=parameterization)
    return RealImagPair(re=net, im=net.clone())


def infinite_counterpart(model):
    """The pair whose infinite-width kernel equals ``model``'s.

    A :class:`~qsntk.nets.ComplexFCNet` has independent read-out weights for its two
    outputs, so at infinite width its cross blocks vanish and each output has the
    kernel of an :class:`~qsntk.nets.FCNet` of the same shape.
    """
    from qsntk.nets.fc import FCNet
    from qsntk.nets.wavefunctions import ComplexFCNet, RealImagPair

    if isinstance(model, ComplexFCNet):
        net = FCNet(tuple(model.widths), activation=model.activation, W_std=model.W_std,
                    b_std=model.b_std, parameterization=model.parameterization)
        return RealImagPair(re=net, im=net.clone())
    return model
