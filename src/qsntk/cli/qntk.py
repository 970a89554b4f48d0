"""``qsntk qntk``: QNTK of random quantum circuits (Liu et al., PRL 130, 150601)."""

from __future__ import annotations

import click

from qsntk.cli._common import (SEED, out_option, overwrite_option, parse_int_list, print_json,
                               report_run, say)

_seed = click.option("--seed", type=SEED, default=0, show_default=True,
                     help="Seed of circuits, observable and angles.")
_terms = click.option("--terms", type=int, default=10, show_default=True,
                      help="Number of Pauli terms in the random observable O (strings drawn "
                           "uniformly with replacement, coefficients U(0, 1)).")


@click.group(short_help="QNTK, dQNTK and training of random circuits")
def qntk():
    """QNTK, dQNTK and training dynamics of random circuits (eqs. 1-21 of Liu et al.).

    \b
    Examples:
      qsntk qntk kernel --qubits 4 --layers 1,2,4,8,16,32,40 --samples 1000 --out runs/k
      qsntk qntk train --qubits 2 --layers 64 --eta 1e-4 --steps 1000 --out runs/t
      qsntk qntk supervised --qubits 4 --layers 64 --sizes 2,4,6,8,10 --out runs/s
      qsntk qntk theory --qubits 4 --layers 40
    """


@qntk.command(short_help="QNTK mean and fluctuations against depth (Fig. 1)")
@click.option("--qubits", type=int, default=4, show_default=True, help="Number of qubits n (D = 2^n).")
@click.option("--layers", default="1,2,4,8,16,32,40", show_default=True,
              help="Comma-separated circuit depths L.")
@click.option("--instances", type=int, default=10, show_default=True,
              help="Random circuits (Haar W, Pauli X) per depth.")
@click.option("--samples", type=int, default=1000, show_default=True,
              help="Angle samples per circuit, uniform in [0, 2pi).")
@click.option("--no-mu", is_flag=True, help="Skip the dQNTK mu (eq. 14).")
@click.option("--dtype", default="float64", show_default=True,
              help="Arithmetic of K and mu: float64, or float32 (about 2x faster on a CPU, "
                   "relative error ~1e-6 at L = 40).")
@_seed
@_terms
@out_option(default="runs/qntk-kernel")
@overwrite_option
def kernel(qubits, layers, instances, samples, no_mu, dtype, seed, terms, out, overwrite):
    """QNTK mean and fluctuations against depth (Fig. 1 of Liu et al.)."""
    from qsntk.circuits.drivers import kernel_scan
    from qsntk.progress import progress_bar

    Ls = parse_int_list("--layers", layers)
    report_run(kernel_scan(out, n_qubits=qubits, layers=Ls, instances=instances, samples=samples,
                        seed=seed, terms=terms, with_mu=not no_mu, dtype=dtype, overwrite=overwrite,
                        progress=progress_bar))


@qntk.command(short_help="Gradient-descent residual against eq. 11 (Fig. 2)")
@click.option("--qubits", type=int, default=2, show_default=True, help="Number of qubits n.")
@click.option("--layers", type=int, default=64, show_default=True, help="Circuit depth L.")
@click.option("--inits", type=int, default=50, show_default=True, help="Random initial angle vectors.")
@click.option("--steps", type=int, default=1000, show_default=True, help="Gradient-descent steps.")
@click.option("--eta", type=float, default=1e-4, show_default=True, help="Learning rate.")
@click.option("--target", type=float, default=None,
              help="Target value O_0 (default: Tr(O)/D, the Haar average of <O>).")
@click.option("--chunk", type=int, default=100, show_default=True, help="Steps between checkpoints.")
@_seed
@_terms
@out_option(default="runs/qntk-train")
@overwrite_option
def train(qubits, layers, inits, steps, eta, target, chunk, seed, terms, out, overwrite):
    """Gradient-descent dynamics of the residual against eq. 10-11 (Fig. 2 of Liu et al.)."""
    from qsntk.circuits.drivers import train as run_train
    from qsntk.progress import progress_bar

    summary = run_train(out, n_qubits=qubits, n_layers=layers, inits=inits, steps=steps, eta=eta,
                        target=target, chunk=chunk, seed=seed, terms=terms, overwrite=overwrite,
                        progress=progress_bar)
    m = summary["metrics"]
    if m.get("diverged"):       # recorded, as the supervised driver records it: exit status 0
        say(f"warning: gradient descent diverged at step {m['diverged_at_step']} "
            f"(eta = {eta:g}; see diverged in metrics.json)")
    report_run(summary)


@qntk.command(short_help="Lowest supervised-QNTK eigenvalue vs |A| (Fig. 3)")
@click.option("--qubits", type=int, default=4, show_default=True, help="Number of qubits n.")
@click.option("--layers", type=int, default=64, show_default=True, help="Circuit depth L.")
@click.option("--sizes", default="2,3,4,5,6,7,8,9,10", show_default=True,
              help="Comma-separated training-set sizes |A|.")
@click.option("--instances", type=int, default=50, show_default=True, help="Random circuits per size.")
@click.option("--inputs", type=click.Choice(["haar", "basis"]), default="haar", show_default=True,
              help="Orthonormal inputs: Haar-random frame or computational basis states.")
@_seed
@_terms
@out_option(default="runs/qntk-supervised")
@overwrite_option
def supervised(qubits, layers, sizes, instances, inputs, seed, terms, out, overwrite):
    """Lowest eigenvalue of the supervised QNTK against |A| (Fig. 3 of Liu et al.)."""
    from qsntk.circuits.drivers import supervised as run_sup
    from qsntk.progress import progress_bar

    A = parse_int_list("--sizes", sizes)
    report_run(run_sup(out, n_qubits=qubits, n_layers=layers, sizes=A, instances=instances,
                    inputs=inputs, seed=seed, terms=terms, overwrite=overwrite,
                    progress=progress_bar))


@qntk.command(short_help="Closed forms: K, its fluctuations, decay rate")
@click.option("--qubits", type=int, default=4, show_default=True, help="Number of qubits n.")
@click.option("--layers", type=int, default=40, show_default=True, help="Circuit depth L.")
@click.option("--eta", type=float, default=1e-4, show_default=True, help="Learning rate for gamma.")
@click.option("--data", "n_data", type=int, default=None, help="Training-set size |A| for eq. 21.")
@_seed
@_terms
def theory(qubits, layers, eta, n_data, seed, terms):
    """Closed forms for the random observable of --seed: eqs. 9, 11, 12, 15, 21 and exact values."""
    from qsntk.circuits.drivers import theory_summary

    print_json(theory_summary(n_qubits=qubits, n_layers=layers, eta=eta, n_data=n_data,
                              seed=seed, terms=terms))
