"""``qsntk kernel``: the QS-NTK (Θ, Φ, Ω) of a network wavefunction on a target's basis."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from qsntk.cli._common import SEED, float32_option, apply_precision, print_json, say


_REAL_KINDS = "biuf"   # bool, signed and unsigned integers, floats: exactly convertible to float64


def _read_array(f, name, where):
    """Array ``name`` of the open .npz ``f`` as float64; other dtypes are refused by name."""
    import numpy as np

    from qsntk.errors import InputError

    try:
        a = f[name]
    except ValueError as exc:          # an object array (numpy needs allow_pickle for it)
        if "pickle" in str(exc).lower() or "object" in str(exc).lower():
            raise InputError(f"{where}: array {name!r} has dtype object; the network inputs must "
                             "be real numbers (float, integer or bool)") from None
        raise
    if a.dtype.kind not in _REAL_KINDS:
        raise InputError(f"{where}: array {name!r} has dtype {a.dtype}; the network inputs must be "
                         "real numbers (float, integer or bool)")
    return np.asarray(a, np.float64)


def _load_inputs(target, inputs):
    """(x1, x2 or None, description) from --target or --inputs."""
    import numpy as np

    from qsntk.errors import InputError, check_finite

    if (target is None) == (inputs is None):
        raise InputError("give exactly one of --target and --inputs")
    if target is not None:
        from qsntk.experiments.supervised import load_target

        t = load_target(target)
        return np.asarray(t.x, np.float64), None, f"target {target} ({t.n_states} states)"
    import zipfile

    where = f"inputs {inputs!r}"
    try:
        f = np.load(inputs, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc):       # numpy's reading of a file that is neither .npz nor .npy
            raise InputError(f"{where} is not an .npz array file (write one with "
                             "np.savez(path, x=...))") from None
        raise InputError(f"cannot read {where} ({type(exc).__name__}: {exc})") from None
    except EOFError:
        raise InputError(f"{where} is empty, not an .npz array file") from None
    except (OSError, zipfile.BadZipFile) as exc:
        raise InputError(f"cannot read {where} ({type(exc).__name__}: {exc})") from None
    if not hasattr(f, "files"):
        raise InputError(f"{where} must be an .npz with an array 'x', not a single .npy array")
    try:
        with f:
            if "x" not in f.files:
                raise InputError(f"{inputs!r} has no array 'x' (found {', '.join(f.files) or 'none'})")
            x1 = _read_array(f, "x", where)
            x2 = _read_array(f, "x2", where) if "x2" in f.files else None
    except InputError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(f"cannot read {where} ({type(exc).__name__}: {exc})") from None
    if x1.ndim != 2 or x1.shape[0] < 1 or x1.shape[1] < 1:
        raise InputError(f"inputs 'x' must have shape (n, d) with n, d >= 1, got {x1.shape}")
    if x2 is not None and (x2.ndim != 2 or x2.shape[0] < 1 or x2.shape[1] != x1.shape[1]):
        raise InputError(f"inputs 'x2' must have shape (m, {x1.shape[1]}), got {x2.shape}")
    check_finite("inputs 'x'", x1)
    if x2 is not None:
        check_finite("inputs 'x2'", x2)
    return x1, x2, f"inputs {inputs}"


# The network options, their flags and defaults; which of them a computation uses.
_DEFAULTS = {"width": 5000, "depth": 1, "activation": "relu", "W_std": 0.5, "b_std": 0.1,
             "sigma_a": 1.0, "sigma_w": 1.0, "seed": 0}
_FLAGS = {"width": "--width", "depth": "--depth", "activation": "--activation", "W_std": "--W-std",
          "b_std": "--b-std", "sigma_a": "--sigma-a", "sigma_w": "--sigma-w", "seed": "--seed"}
_ARCH_USES = {"fc": ("width", "depth", "activation", "W_std", "b_std"),
              "cosnet": ("width", "sigma_a", "sigma_w"), "gaussnet": ("width", "sigma_a", "sigma_w")}


def _used(arch, kind, parameterization):
    """The network options that enter the kernel, with why the others do not."""
    why = {k: f"--arch {arch}" for k in _DEFAULTS if k not in _ARCH_USES[arch] + ("seed",)}
    if kind == "infinite":
        why["seed"] = "--kind infinite (no network is drawn)"
        if parameterization == "ntk":   # the standard parameterization's limit scales with N
            why["width"] = "--kind infinite with --parameterization ntk (the limit has no width)"
    return why


def _memory_needed(model, kind, x1, x2, seed, omega, eigs, complex_wavefunction):
    """A lower bound on the bytes this command holds at once, from shapes alone."""
    import jax
    import numpy as np

    from qsntk.config import default_dtype
    from qsntk.kernels import memory_lower_bound
    from qsntk.kernels.infinite import memory_lower_bound as infinite_bound
    from qsntk.nets import init_params

    n1 = x1.shape[0]
    n2 = None if x2 is None else x2.shape[0]
    m = n1 if n2 is None else n2
    if kind == "infinite":
        kernel = infinite_bound(n1, n2, real_blocks=True)
    else:
        shapes = jax.eval_shape(lambda: init_params(model, x1.shape[1], key=jax.random.PRNGKey(seed)))
        kernel = memory_lower_bound(model, shapes, n1, n2)
    isz = np.dtype(default_dtype()).itemsize
    held = (4 + 4) * n1 * m * isz               # the real blocks, and Theta, Phi (complex)
    if omega:
        held += 8 * n1 * m * isz                # Omega (2n1 x 2n2 complex)
    if eigs:                                    # the eigensolver's float64 copy of Omega_RI
        held += (4 if complex_wavefunction else 1) * n1 * n1 * 8    # (or of one diagonal block)
    return max(kernel, held)


@click.command(short_help="Theta, Phi and the Omega_RI spectrum of a network")
@click.option("--arch", default="fc", show_default=True, help="fc, cosnet or gaussnet.")
@click.option("--wavefunction", default="pair", show_default=True,
              help="pair (psi1 + i psi2, independent networks) or complex (one net, two outputs).")
@click.option("--width", type=int, default=None, show_default="5000",
              help="Hidden width N (empirical; infinite only with --parameterization standard).")
@click.option("--depth", type=int, default=None, show_default="1", help="Hidden layers (fc).")
@click.option("--activation", default=None, show_default="relu",
              help="relu, erf, tanh, sin, cos or identity (fc).")
@click.option("--W-std", "W_std", type=float, default=None, show_default="0.5", help="Weight scale (fc).")
@click.option("--b-std", "b_std", type=float, default=None, show_default="0.1", help="Bias scale (fc).")
@click.option("--sigma-a", type=float, default=None, show_default="1.0",
              help="CosNet/Gauss-net output scale.")
@click.option("--sigma-w", type=float, default=None, show_default="1.0",
              help="CosNet/Gauss-net frequency scale.")
@click.option("--parameterization", default="ntk", show_default=True, help="ntk or standard.")
@click.option("--target", default=None, help="Preset (tfim-quench, hubbard-quench) or target file.")
@click.option("--inputs", type=click.Path(dir_okay=False), default=None,
              help="An .npz with real 'x' (n, d) and optionally 'x2' (m, d) for a cross kernel.")
@click.option("--kind", default="empirical", show_default=True,
              help="empirical (a network drawn with --seed) or infinite (width -> infinity).")
@click.option("--seed", type=SEED, default=None, show_default="0",
              help="Seed of the network (empirical).")
@click.option("--omega", is_flag=True, help="Also write Omega = [[Theta, Phi], [Phi*, Theta*]].")
@click.option("--no-eigs", is_flag=True, help="Skip the spectrum of Omega_RI.")
@float32_option
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="Output .npz file.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out file.")
def kernel(arch, wavefunction, width, depth, activation, W_std, b_std, sigma_a, sigma_w,
           parameterization, target, inputs, kind, seed, omega, no_eigs, float32, out, overwrite):
    """Theta, Phi (eq. 7 of Luo-Halverson) and the spectrum of Omega_RI of a network
    wavefunction, empirical or at infinite width.

    Network options that the chosen --arch and --kind do not use (--depth with cosnet,
    --seed with --kind infinite, ...) are refused; the output's info records only the
    settings that entered the computation.

    \b
    Examples:
      qsntk kernel --target tfim-quench --width 5000 --out ntk.npz
      qsntk kernel --target hubbard-quench --kind infinite --out ntk_inf.npz
      qsntk kernel --inputs x.npz --arch cosnet --sigma-w 3 --kind infinite --omega --out k.npz
    """
    import numpy as np

    from qsntk.errors import InputError, check_choice, check_memory

    check_choice("kind", kind, ("empirical", "infinite"))
    if not out.endswith(".npz"):
        raise InputError(f"--out must end in .npz, got {out!r}")
    if Path(out).exists() and not overwrite:
        raise InputError(f"{out!r} exists; use --overwrite to replace it")
    apply_precision(float32)
    from qsntk.nets.factory import ARCHS, infinite_counterpart, make_wavefunction

    check_choice("architecture", arch, ARCHS)
    given = {k: v for k, v in dict(width=width, depth=depth, activation=activation, W_std=W_std,
                                   b_std=b_std, sigma_a=sigma_a, sigma_w=sigma_w, seed=seed).items()
             if v is not None}
    opts = {**_DEFAULTS, **given}
    seed = opts.pop("seed")
    model = make_wavefunction(arch, wavefunction=wavefunction, parameterization=parameterization,
                              **opts)               # validates every value given, used or not
    unused = _used(arch, kind, parameterization)
    for k in given:
        if k in unused:
            raise InputError(f"{_FLAGS[k]} is not used by {unused[k]}; leave it out")
    x1, x2, what = _load_inputs(target, inputs)
    eigs = x2 is None and not no_eigs
    check_memory(f"the {kind} kernel of {x1.shape[0]} x {x1.shape[0] if x2 is None else x2.shape[0]} "
                 f"inputs" + ("" if kind == "infinite" else f" at width {opts['width']}"),
                 _memory_needed(model, kind, x1, x2, seed, omega, eigs, wavefunction == "complex"))

    import jax

    from qsntk.io import atomic_save_npz, to_jsonable
    from qsntk.kernels import infinite_real_blocks, real_blocks, theta_phi
    from qsntk.kernels.spectrum import omega_ri_eigenvalues, summarize
    from qsntk.nets import init_params

    t0 = time.perf_counter()
    if kind == "infinite":
        K = infinite_real_blocks(infinite_counterpart(model), x1, x2, get="ntk")
        n_params = None
    else:
        params = init_params(model, x1.shape[1], key=jax.random.PRNGKey(seed))
        K = real_blocks(model, params, x1, x2)
        n_params = int(sum(np.size(p) for p in jax.tree_util.tree_leaves(params)))
    K = np.asarray(K)
    qs = theta_phi(K)
    t_kernel = time.perf_counter() - t0
    arrays = {"theta": np.asarray(qs.theta), "phi": np.asarray(qs.phi), "real_blocks": K}
    if omega:
        arrays["omega"] = np.asarray(qs.omega)
    settings = {k: v for k, v in {**opts, "seed": seed}.items() if k not in unused}
    info = {"kind": kind, "arch": arch, "wavefunction": wavefunction, **settings,
            "parameterization": parameterization, "source": what,
            "precision": "float32" if float32 else "float64"}
    if n_params is not None:
        info["n_params"] = n_params
    info.update(shape=list(qs.theta.shape), seconds_kernel=round(t_kernel, 3))
    if eigs:
        ev = omega_ri_eigenvalues(K)
        arrays["omega_ri_eigenvalues"] = ev
        info["spectrum"] = summarize(ev, x1.shape[0])._asdict()
    info = to_jsonable(info)     # strict JSON: a non-finite number is the string "inf"/"nan", as printed
    arrays["info"] = np.frombuffer(json.dumps(info, allow_nan=False).encode(), dtype=np.uint8)
    atomic_save_npz(out, **arrays)
    say(f"wrote {out}: theta, phi{', omega' if omega else ''} {tuple(qs.theta.shape)} "
        f"in {t_kernel:.2f} s")
    if "spectrum" in info:
        s = info["spectrum"]
        say(f"Omega_RI: lambda_max {s['lam_max']:.4g}, lambda_min {s['lam_min']:.3g}, "
            f"condition {float(s['condition']):.3g}, effective rank {s['effective_rank']:.1f}, "
            f"eta_max = n/lambda_max = {float(s['eta_max']):.4g}")   # float("inf"): info is strict JSON
    print_json(info)
