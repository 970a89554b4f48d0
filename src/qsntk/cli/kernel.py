"""``qsntk kernel``: the QS-NTK (Θ, Φ, Ω) of a network wavefunction on a target's basis."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from qsntk.cli._common import SEED, float32_option, apply_precision, print_json, say


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

    try:
        f = np.load(inputs)
        if not hasattr(f, "files"):
            raise InputError(f"inputs {inputs!r} must be an .npz with an array 'x', "
                             "not a single .npy array")
        with f:
            if "x" not in f.files:
                raise InputError(f"{inputs!r} has no array 'x' (found {', '.join(f.files) or 'none'})")
            x1 = np.asarray(f["x"], np.float64)
            x2 = np.asarray(f["x2"], np.float64) if "x2" in f.files else None
    except InputError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(f"cannot read inputs {inputs!r} ({type(exc).__name__}: {exc})") from None
    if x1.ndim != 2 or x1.shape[0] < 1 or x1.shape[1] < 1:
        raise InputError(f"inputs 'x' must have shape (n, d) with n, d >= 1, got {x1.shape}")
    if x2 is not None and (x2.ndim != 2 or x2.shape[0] < 1 or x2.shape[1] != x1.shape[1]):
        raise InputError(f"inputs 'x2' must have shape (m, {x1.shape[1]}), got {x2.shape}")
    check_finite("inputs 'x'", x1)
    if x2 is not None:
        check_finite("inputs 'x2'", x2)
    return x1, x2, f"inputs {inputs}"


@click.command(short_help="Theta, Phi and the Omega_RI spectrum of a network")
@click.option("--arch", default="fc", show_default=True, help="fc, cosnet or gaussnet.")
@click.option("--wavefunction", default="pair", show_default=True,
              help="pair (psi1 + i psi2, independent networks) or complex (one net, two outputs).")
@click.option("--width", type=int, default=5000, show_default=True, help="Hidden width N.")
@click.option("--depth", type=int, default=1, show_default=True, help="Hidden layers (fc).")
@click.option("--activation", default="relu", show_default=True,
              help="relu, erf, tanh, sin, cos or identity (fc).")
@click.option("--W-std", "W_std", type=float, default=0.5, show_default=True)
@click.option("--b-std", "b_std", type=float, default=0.1, show_default=True)
@click.option("--sigma-a", type=float, default=1.0, show_default=True, help="CosNet/Gauss-net output scale.")
@click.option("--sigma-w", type=float, default=1.0, show_default=True, help="CosNet/Gauss-net frequency scale.")
@click.option("--parameterization", default="ntk", show_default=True, help="ntk or standard.")
@click.option("--target", default=None, help="Preset (tfim-quench, hubbard-quench) or target file.")
@click.option("--inputs", type=click.Path(dir_okay=False), default=None,
              help="An .npz with 'x' (n, d) and optionally 'x2' (m, d) for a cross kernel.")
@click.option("--kind", default="empirical", show_default=True,
              help="empirical (a network drawn with --seed) or infinite (width -> infinity).")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of the network (empirical).")
@click.option("--omega", is_flag=True, help="Also write Omega = [[Theta, Phi], [Phi*, Theta*]].")
@click.option("--no-eigs", is_flag=True, help="Skip the spectrum of Omega_RI.")
@float32_option
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="Output .npz file.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out file.")
def kernel(arch, wavefunction, width, depth, activation, W_std, b_std, sigma_a, sigma_w,
           parameterization, target, inputs, kind, seed, omega, no_eigs, float32, out, overwrite):
    """Theta, Phi (eq. 7 of Luo-Halverson) and the spectrum of Omega_RI of a network
    wavefunction, empirical or at infinite width.

    \b
    Examples:
      qsntk kernel --target tfim-quench --width 5000 --out ntk.npz
      qsntk kernel --target hubbard-quench --kind infinite --out ntk_inf.npz
      qsntk kernel --inputs x.npz --arch cosnet --sigma-w 3 --kind infinite --omega --out k.npz
    """
    import numpy as np

    from qsntk.errors import InputError, check_choice

    check_choice("kind", kind, ("empirical", "infinite"))
    if not out.endswith(".npz"):
        raise InputError(f"--out must end in .npz, got {out!r}")
    if Path(out).exists() and not overwrite:
        raise InputError(f"{out!r} exists; use --overwrite to replace it")
    apply_precision(float32)
    from qsntk.nets.factory import infinite_counterpart, make_wavefunction

    model = make_wavefunction(arch, wavefunction=wavefunction, width=width, depth=depth,
                              activation=activation, W_std=W_std, b_std=b_std,
                              parameterization=parameterization, sigma_a=sigma_a, sigma_w=sigma_w)
    x1, x2, what = _load_inputs(target, inputs)

    import jax

    from qsntk.io import atomic_save_npz
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
    info = {"kind": kind, "arch": arch, "wavefunction": wavefunction, "width": width, "depth": depth,
            "activation": activation, "W_std": W_std, "b_std": b_std, "parameterization": parameterization,
            "sigma_a": sigma_a, "sigma_w": sigma_w, "seed": seed, "source": what,
            "precision": "float32" if float32 else "float64", "n_params": n_params,
            "shape": list(qs.theta.shape), "seconds_kernel": round(t_kernel, 3)}
    if x2 is None and not no_eigs:
        ev = omega_ri_eigenvalues(K)
        arrays["omega_ri_eigenvalues"] = ev
        info["spectrum"] = summarize(ev, x1.shape[0])._asdict()
    arrays["info"] = np.frombuffer(json.dumps(info).encode(), dtype=np.uint8)
    atomic_save_npz(out, **arrays)
    say(f"wrote {out}: theta, phi{', omega' if omega else ''} {tuple(qs.theta.shape)} "
        f"in {t_kernel:.2f} s")
    if "spectrum" in info:
        s = info["spectrum"]
        say(f"Omega_RI: lambda_max {s['lam_max']:.4g}, lambda_min {s['lam_min']:.3g}, "
            f"condition {s['condition']:.3g}, effective rank {s['effective_rank']:.1f}, "
            f"eta_max = n/lambda_max = {s['eta_max']:.4g}")
    print_json(info)
