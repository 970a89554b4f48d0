"""``qsntk supervised``: finite NNQS ensembles against the analytic ∞-NNQS (Luo–Halverson sec. 6)."""

from __future__ import annotations

import click

from qsntk.cli._common import SEED, out_option, overwrite_option, parse_int_list, print_json, say


@click.command(short_help="Train network ensembles on a target wavefunction")
@click.option("--target", "targets", default="tfim-quench", show_default=True,
              help="Comma-separated presets (tfim-quench, hubbard-quench) or target files "
                   "written by `qsntk target`.")
@click.option("--train-sizes", default="2400", show_default=True,
              help="Comma-separated train-set sizes |B| (drawn uniformly, seeded).")
@click.option("--widths", default="300,1000,5000", show_default=True,
              help="Comma-separated hidden widths N of the finite networks.")
@click.option("--members", type=int, default=10, show_default=True, help="Networks per ensemble.")
@click.option("--steps", type=int, default=10_000, show_default=True,
              help="Full-batch GD steps (epochs); losses are logged on a log-spaced grid.")
@click.option("--n-log", type=int, default=60, show_default=True, help="Logged steps (log-spaced).")
@click.option("--eta-factor", type=float, default=0.9, show_default=True,
              help="Learning rate as a fraction of eta_max = |B| / lambda_max of the infinite NTK.")
@click.option("--activation", default="relu", show_default=True,
              help="Activation of both networks (relu, erf, tanh, sin, cos, identity).")
@click.option("--depth", type=int, default=1, show_default=True, help="Hidden layers.")
@click.option("--W-std", "W_std", type=float, default=0.5, show_default=True, help="Weight std sigma_w.")
@click.option("--b-std", "b_std", type=float, default=0.1, show_default=True, help="Bias std sigma_b.")
@click.option("--parameterization", default="ntk", show_default=True, help="ntk or standard.")
@click.option("--float64", "float64", is_flag=True,
              help="Train the finite networks in double precision (default: single; "
                   "kernels and the analytic solution are always double).")
@click.option("--seed", type=SEED, default=0, show_default=True,
              help="Seed of the train/test split and the initial networks.")
@click.option("--linearized", is_flag=True,
              help="Also evolve each member's linearized twin (its own frozen empirical NTK), exactly.")
@click.option("--drift", is_flag=True,
              help="When a cell finishes, measure how far each member's empirical NTK moved and "
                   "how its train residual differs from its linearized twin's (train set, "
                   "float64; 15-25 s per width-5000 member at |B| = 2400 on 2 cores); shown by `qsntk status --gap`.")
@click.option("--checkpoint-s", type=float, default=120.0, show_default=True,
              help="Seconds between checkpoints inside long stretches of steps.")
@click.option("--reuse", multiple=True, metavar="DIR",
              help="Start cells trained with the same settings in run directory DIR from there "
                   "(its checkpoints, or its finished cells' records in metrics.json; repeatable).")
@out_option(default="runs/supervised")
@overwrite_option
def supervised(targets, train_sizes, widths, members, steps, n_log, eta_factor, activation, depth,
               W_std, b_std, parameterization, float64, seed, linearized, drift, checkpoint_s, reuse,
               out, overwrite):
    """Train ensembles of real-imaginary network pairs on a target wavefunction by
    full-batch gradient descent and compare with the analytic infinite-width
    solution (eqs. 13-18 of Luo-Halverson). Writes config.json, metrics.json,
    arrays.npz and Fig. 2/3-style PNGs to --out; rerunning resumes.

    \b
    Examples:
      qsntk supervised --target tfim-quench --train-sizes 2400 --widths 300,1000,5000 --out runs/f2
      qsntk supervised --target my_target.npz --widths 512 --members 4 --steps 2000 --out runs/mine
      qsntk supervised --train-sizes 2400,4000 --reuse runs/f2 --out runs/f3   # n=2400 cells from f2
    """
    from qsntk.experiments.supervised import make_config, run_supervised
    from qsntk.progress import progress_bar

    cfg = make_config(
        targets=[t.strip() for t in targets.split(",") if t.strip()],
        train_sizes=parse_int_list("--train-sizes", train_sizes),
        widths=parse_int_list("--widths", widths), members=members, steps=steps, n_log=n_log,
        eta_factor=eta_factor, activation=activation, depth=depth, W_std=W_std, b_std=b_std,
        parameterization=parameterization, precision="float64" if float64 else "float32",
        seed=seed, checkpoint_s=checkpoint_s, linearized=linearized, drift=drift)
    summary = run_supervised(out, cfg, overwrite=overwrite, progress=progress_bar,
                             title="qsntk supervised", reuse=reuse)
    say(f"results in {summary['out']}")
    if summary["drift_not_measured"]:
        say(f"--drift: not measured for {', '.join(summary['drift_not_measured'])} (finished from "
            "records without a checkpoint: the trained parameters are not there)")
    for f in summary["figures"]:
        say(f"figure: {f}")
    short = {k: {kk: v for kk, v in s.items() if "dev" in kk} for k, s in summary["summary"].items()}
    print_json({"out": summary["out"], "figures": summary["figures"], "metrics": summary["metrics"],
                "max_relative_deviation": short})
