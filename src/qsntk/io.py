"""Run directories: config, metrics, arrays, figures and checkpoints.

Every long computation in qsntk writes into one directory::

    DIR/config.json        the full configuration (written once; a rerun must match it)
    DIR/metrics.json       scalar results and logged curves (rewritten atomically)
    DIR/<name>.npz         arrays
    DIR/<name>.png         figures
    DIR/checkpoints/<name>.npz   resumable state

All writes are atomic: data goes to a temporary file in the same directory,
is flushed to disk and then renamed over the target, so an interrupted run
never leaves a half-written file. Rerunning the same command on the same
directory resumes from the checkpoints; rerunning with a different config is
refused rather than mixing two runs.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import stat
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from qsntk.errors import InputError

__all__ = ["RunDir", "atomic_write_bytes", "atomic_write_json", "atomic_save_npz", "to_jsonable"]


def _fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _file_mode() -> int:
    """The mode a plain ``open()`` would give a new file: 0o666 less the umask.

    ``tempfile.mkstemp`` creates its files 0o600; without this, every result qsntk writes
    atomically would be unreadable to the user's group and others whatever their umask.
    """
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file + fsync + rename).

    Where ``path`` already holds exactly ``data`` nothing is written (the file and its
    modification time stay as they are), so a rerun that recomputes identical results
    (metrics, arrays, figures, checkpoints) leaves its run directory untouched.
    """
    path = Path(path)
    if _holds(path, data):
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise InputError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), _file_mode())
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _holds(path: Path, data: bytes) -> bool:
    """Whether ``path`` is a regular file (not a symbolic link, which a write would replace)
    whose bytes are ``data``: size first, then 1 MiB at a time, stopping at a difference.
    A file that holds them but has another mode than a fresh write would give gets that
    mode (files written 0600 by old versions are repaired as a rewrite would)."""
    try:
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_size != len(data):
            return False
        view, step = memoryview(data), 1 << 20
        with open(path, "rb") as fh:
            for a in range(0, len(data), step):
                if fh.read(step) != view[a:a + step]:
                    return False
        if stat.S_IMODE(st.st_mode) != _file_mode():
            os.chmod(path, _file_mode())
        return True
    except OSError:
        return False


def to_jsonable(obj: Any) -> Any:
    """Convert numpy/JAX scalars and arrays (recursively) to plain JSON types.

    Complex numbers become ``{"re": …, "im": …}``; non-finite floats become
    ``null`` in strict JSON, so they are written as the strings "nan"/"inf".
    """
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (str, bool)) or obj is None:
        return obj
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "shape") and getattr(obj, "shape", None) != ():
        return to_jsonable(np.asarray(obj).tolist())
    if hasattr(obj, "item"):
        obj = obj.item()
    if isinstance(obj, complex):
        return {"re": to_jsonable(obj.real), "im": to_jsonable(obj.imag)}
    if isinstance(obj, float):
        if np.isnan(obj):
            return "nan"
        if np.isinf(obj):
            return "inf" if obj > 0 else "-inf"
        return obj
    if isinstance(obj, int):
        return obj
    raise TypeError(f"cannot convert {type(obj).__name__} to JSON")


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    text = json.dumps(to_jsonable(obj), indent=2, sort_keys=False) + "\n"
    atomic_write_bytes(path, text.encode())


def atomic_save_npz(path: str | os.PathLike, **arrays: Any) -> None:
    """Save arrays into an ``.npz`` file atomically."""
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    atomic_write_bytes(path, buf.getvalue())


def _canonical(config: dict) -> str:
    return json.dumps(to_jsonable(config), sort_keys=True)


def _first_difference(old: dict, new: dict, prefix: str = "") -> str:
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key, "<absent>"), new.get(key, "<absent>")
        if isinstance(a, dict) and isinstance(b, dict):
            diff = _first_difference(a, b, f"{prefix}{key}.")
            if diff:
                return diff
        elif a != b:
            return f"{prefix}{key}: {a!r} there, {b!r} now"
    return ""


class RunDir:
    """A run directory bound to one configuration.

    Arguments:
        path: the directory (created if missing).
        config: a JSON-able dict that fully determines the run, seeds included.
        overwrite: if the directory holds another config, start afresh instead
            of refusing: the old checkpoints, metrics, arrays and figures (``*.png``) are
            removed and the new config written at the first write of this run (any
            ``save_*``, or asking for a checkpoint path), so a command that stops on bad
            input before it writes leaves the old run as it was.
        volatile: keys of ``config`` that do not change the results (how often to
            checkpoint): a rerun that differs only in them resumes, and its values are
            recorded.

    Raises:
        InputError: the directory cannot be created, or holds a different
            config and ``overwrite`` is false.
    """

    def __init__(self, path: str | os.PathLike, config: dict, *, overwrite: bool = False,
                 volatile: tuple[str, ...] = ()):
        self.path = Path(path)
        self.config = json.loads(_canonical(config))
        fixed = lambda c: {k: v for k, v in c.items() if k not in volatile}  # noqa: E731
        if self.path.exists() and not self.path.is_dir():
            raise InputError(f"output path {str(self.path)!r} exists and is not a directory")
        cfg_file = self.path / "config.json"
        self.resumed = False
        self._reset_pending = False
        if cfg_file.exists():
            try:
                old = json.loads(cfg_file.read_text())
            except (OSError, json.JSONDecodeError) as exc:
                raise InputError(f"cannot read {str(cfg_file)!r}: {exc}") from None
            same = isinstance(old, dict) and _canonical(fixed(old)) == _canonical(fixed(self.config))
            if not same:
                if not overwrite:
                    diff = _first_difference(old if isinstance(old, dict) else {}, self.config)
                    raise InputError(
                        f"{str(self.path)!r} holds a run with another config ({diff}); "
                        "use another --out or --overwrite"
                    )
                # the old run's results go with its config (a rerun after an interrupted
                # start must not resume from records of another config), but only once
                # this run writes: see _start
                self._reset_pending = True
            else:
                self.resumed = True
                if _canonical(old) != _canonical(self.config):       # volatile keys only
                    atomic_write_json(cfg_file, self.config)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create {str(self.path)!r}: {exc.strerror or exc}") from None
        if not os.access(self.path, os.W_OK):
            raise InputError(f"cannot write to {str(self.path)!r}")
        if not self.resumed and not self._reset_pending:
            atomic_write_json(cfg_file, self.config)

    def _start(self) -> None:
        """Carry out a pending ``overwrite``: drop the old run's results, write this config."""
        if not self._reset_pending:
            return
        for ckpt in (self.path / "checkpoints").glob("*.npz"):
            ckpt.unlink()
        for name in ("metrics.json", "arrays.npz"):
            (self.path / name).unlink(missing_ok=True)
        for fig in self.path.glob("*.png"):        # the old run's figures (save_figure)
            fig.unlink()
        atomic_write_json(self.path / "config.json", self.config)
        self._reset_pending = False

    # -- metrics -----------------------------------------------------------
    def load_metrics(self) -> dict:
        """The metrics written so far (empty dict if none)."""
        f = self.path / "metrics.json"
        if self._reset_pending or not f.exists():
            return {}
        try:
            return json.loads(f.read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read {str(f)!r}: {exc}") from None

    def save_metrics(self, metrics: dict) -> Path:
        """Replace ``metrics.json`` atomically."""
        self._start()
        f = self.path / "metrics.json"
        atomic_write_json(f, metrics)
        return f

    # -- arrays ------------------------------------------------------------
    def save_arrays(self, name: str = "arrays", **arrays: Any) -> Path:
        self._start()
        f = self.path / f"{name}.npz"
        atomic_save_npz(f, **arrays)
        return f

    def load_arrays(self, name: str = "arrays") -> dict[str, np.ndarray] | None:
        f = self.path / f"{name}.npz"
        if self._reset_pending or not f.exists():
            return None
        with np.load(f) as data:
            return {k: data[k] for k in data.files}

    # -- figures -----------------------------------------------------------
    def save_figure(self, fig, name: str, dpi: int = 150) -> Path:
        """Save a matplotlib figure as ``name.png`` atomically."""
        self._start()
        return save_png(self.path / f"{name}.png", fig, dpi)

    # -- checkpoints -------------------------------------------------------
    def checkpoint_path(self, name: str) -> Path:
        """Where checkpoint ``name`` lives (asking starts the run: see ``overwrite``)."""
        self._start()
        return self.path / "checkpoints" / f"{name}.npz"

    def save_checkpoint(self, name: str, tree: Any, **meta: Any) -> Path:
        """Save a pytree of arrays (and JSON-able metadata) atomically."""
        import jax

        leaves = jax.tree_util.tree_leaves(tree)
        arrays = {f"leaf_{i:05d}": np.asarray(x) for i, x in enumerate(leaves)}
        arrays["__meta__"] = np.frombuffer(
            json.dumps(to_jsonable(meta)).encode(), dtype=np.uint8
        )
        f = self.checkpoint_path(name)
        atomic_save_npz(f, **arrays)
        return f

    def load_checkpoint(self, name: str, like: Any) -> tuple[Any, dict] | None:
        """Restore a checkpoint into the structure of ``like``; None if absent or mismatched.

        Leaves come back as NumPy arrays, except where ``like`` holds a Python
        scalar (``int``, ``float``, ``bool``, ``complex``): those come back as that type,
        so a step counter stays an ``int`` instead of a 0-d array.
        """
        import jax

        f = self.checkpoint_path(name)
        if not f.exists():
            return None
        leaves_like, treedef = jax.tree_util.tree_flatten(like)
        try:
            with np.load(f) as data:
                keys = sorted(k for k in data.files if k.startswith("leaf_"))
                if len(keys) != len(leaves_like):
                    return None
                leaves = [data[k] for k in keys]
                meta = json.loads(bytes(data["__meta__"]).decode())
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise InputError(f"cannot read checkpoint {str(f)!r} ({type(exc).__name__}: {exc}); "
                             "delete it to retrain that part") from None
        for got, want in zip(leaves, leaves_like):
            if np.shape(got) != np.shape(want):
                return None
        leaves = [type(want)(got.item()) if isinstance(want, (bool, int, float, complex)) else got
                  for got, want in zip(leaves, leaves_like)]
        return jax.tree_util.tree_unflatten(treedef, leaves), meta

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r}, resumed={self.resumed})"


def read_checkpoint_meta(path: str | os.PathLike) -> dict | None:
    """The JSON metadata saved with a checkpoint (:meth:`RunDir.save_checkpoint`), read
    without loading its arrays; None if the file is not a readable checkpoint."""
    try:
        with np.load(path) as data:
            meta = json.loads(bytes(data["__meta__"]).decode())
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    return meta if isinstance(meta, dict) else None


def save_png(path: str | os.PathLike, fig, dpi: int = 150) -> Path:
    """Write a matplotlib figure to ``path`` as PNG, atomically."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    atomic_write_bytes(path, buf.getvalue())
    return Path(path)


class FigureDir:
    """A directory that only receives figures (``save_figure`` as :class:`RunDir`'s), for
    drawing a run's figures elsewhere than in its run directory.

    Raises:
        InputError: ``path`` exists and is not a directory, or cannot be created.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise InputError(f"figure path {str(self.path)!r} exists and is not a directory")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create {str(self.path)!r}: {exc.strerror or exc}") from None

    def save_figure(self, fig, name: str, dpi: int = 150) -> Path:
        return save_png(self.path / f"{name}.png", fig, dpi)


def call_atomically(path: str | os.PathLike, writer: Callable[[Path], None]) -> None:
    """Let ``writer`` write to a temporary path, then rename it onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        writer(Path(tmp))
        os.chmod(tmp, _file_mode())
        with open(tmp, "rb") as fh:      # the data on disk before the name points at it
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class WorkClock:
    """``wall_s`` of a resumable run: the seconds spent computing its result, summed over the
    sessions that computed it.

    Each checkpointed piece of work records the seconds it took (``wall_s`` in its metadata,
    from :meth:`piece_done`); :meth:`total` is the time of the pieces restored from
    checkpoints (:meth:`piece_loaded`) plus everything this session did since the clock
    started. Where this session restored every piece and computed none, the ``wall_s``
    already in ``metrics.json`` is kept, so a rerun that does nothing leaves it unchanged.
    A piece checkpointed before qsntk recorded piece times counts as 0 s.
    """

    def __init__(self, run: RunDir):
        import time

        self.run, self._now = run, time.perf_counter
        self.t0 = self._now()
        self.loaded = 0.0               # seconds of the pieces restored from checkpoints
        self.computed = False

    @staticmethod
    def recorded(meta) -> float:
        """The seconds a checkpoint's metadata records (0 where it records none)."""
        import math

        s = meta.get("wall_s") if isinstance(meta, dict) else None
        ok = isinstance(s, (int, float)) and not isinstance(s, bool) and math.isfinite(s) and s >= 0
        return float(s) if ok else 0.0

    def piece_loaded(self, meta) -> float:
        """Count a restored piece; returns its recorded seconds."""
        s = self.recorded(meta)
        self.loaded += s
        return s

    def piece_done(self, started: float) -> float:
        """Seconds since ``started`` (a ``time.perf_counter()``): the time of a piece just computed."""
        self.computed = True
        return self._now() - started

    def kept(self) -> float | None:
        """``metrics.json``'s ``wall_s`` (None where there is none or it cannot be read)."""
        try:
            kept = self.run.load_metrics().get("wall_s")
        except (InputError, AttributeError):        # unreadable, or not an object
            return None
        return float(kept) if isinstance(kept, (int, float)) and not isinstance(kept, bool) else None

    def unchanged(self, *outputs: str) -> dict | None:
        """The metrics of a finished run when this session recomputed nothing and every file
        in ``outputs`` (names in the run directory) is there, so that the caller can return
        them as they are without assembling metrics and arrays or drawing figures again (the
        files would stay untouched either way: :func:`atomic_write_bytes` skips identical
        bytes); None otherwise (the caller writes its results)."""
        if self.computed or not self.run.resumed:
            return None
        if not all((self.run.path / f).exists() for f in ("metrics.json", *outputs)):
            return None
        return self.run.load_metrics() or None

    def total(self) -> float:
        if not self.computed:
            kept = self.kept()
            if kept is not None:
                return kept
        return self.loaded + (self._now() - self.t0)
