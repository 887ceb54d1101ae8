"""Writing results safely: a failing or killed run never truncates or replaces an existing file, and an output
path is written only if it is what it seems to be.

* a missing path or a regular file (one link, writable): a temporary file beside it, renamed over it in one
  step when the writing finished; SIGTERM, SIGHUP or SIGINT while writing removes the temporary file;
* a character device (``/dev/null``, a terminal) or a FIFO: written straight, opened without creating or
  truncating anything (and a FIFO only if a reader is there: no wait forever);
* a file the running command reads (``import m.onnx -o m.onnx``, ``table s.yaml -o s.yaml``, through any
  path or symbolic link to it) is refused: the output would replace its own input;
* anything else is refused with a one-line error: a symbolic link (the rename would replace the link, not its
  target; a link to a device or FIFO, such as ``/dev/stdout``, is written through), a file with other hard
  links (they would keep the old content), a read-only file, a directory, a socket, a block device.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
import stat
import tempfile
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import IO, Any

from .errors import OptionError

TEMP_NAME_MAX = 200  # the temporary file's name keeps within NAME_MAX (255) for any target name
# The files the running command reads, as (device, inode): the same file under any path or link. None outside
# a command (see ``inputs_guarded``): what a library caller reads and writes is its own business.
_INPUTS: ContextVar[set[tuple[int, int]] | None] = ContextVar("mobcost_inputs", default=None)
KILL_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP", "SIGINT") if hasattr(signal, name))


def write_atomic(path: Path, data: str | bytes, *, where: str = "--output") -> None:
    """Write ``data`` to ``path`` (see the module docstring for what ``path`` may be)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_stream(path, binary=True, where=where) as f:
        f.write(raw)


@contextlib.contextmanager
def inputs_guarded() -> Iterator[None]:
    """While a command runs: every file it reads (``note_input``) is one its outputs may not replace."""
    token = _INPUTS.set(set())
    try:
        yield
    finally:
        _INPUTS.reset(token)


def note_input(path: str | Path | int) -> None:
    """Remember a regular file (a path, or an open descriptor) the running command reads."""
    inputs = _INPUTS.get()
    if inputs is None:
        return
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return  # not readable: the reader says so
    if stat.S_ISREG(st.st_mode):
        inputs.add((st.st_dev, st.st_ino))


def _refuse(target: Path, message: str, where: str) -> OptionError:
    return OptionError(message, file=str(target), where=where)


def output_kind(path: Path, where: str = "--output") -> str:
    """``"new"``, ``"file"`` (replace atomically) or ``"stream"`` (write straight); refuse anything else."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return "new"
    except OSError as exc:
        raise _refuse(path, f"cannot write: {exc.strerror}", where) from None
    mode = st.st_mode
    if stat.S_ISLNK(mode):
        if _is_stream(path):  # /dev/stdout and the like: written through, the link itself stays
            return "stream"
        raise _refuse(path, "is a symbolic link; refusing to replace it (write to its target's path instead)", where)
    if stat.S_ISDIR(mode):
        raise _refuse(path, "is a directory", where)
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return "stream"
    if not stat.S_ISREG(mode):
        kind = "a socket" if stat.S_ISSOCK(mode) else "a block device" if stat.S_ISBLK(mode) else "not a regular file"
        raise _refuse(path, f"is {kind}; refusing to write to it", where)
    if (st.st_dev, st.st_ino) in (_INPUTS.get() or ()):
        raise _refuse(path, "is an input of this command; refusing to write over it", where)
    if st.st_nlink > 1:
        raise _refuse(path, f"has {st.st_nlink - 1} other hard link(s), which would keep the old content; "
                            "refusing to replace it", where)
    if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(path, os.W_OK):
        raise _refuse(path, "is read-only; refusing to replace it", where)
    return "file"


def _is_stream(path: Path) -> bool:
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


@contextlib.contextmanager
def atomic_stream(path: Path, *, binary: bool = False, where: str = "--output") -> Iterator[IO[Any]]:
    """A file to write in pieces; what it holds reaches ``path`` only if the block finishes without error."""
    target = Path(path)
    kind = output_kind(target, where)
    if kind == "stream":
        with _open_stream(target, binary, where) as f:
            yield f
        return
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise _refuse(target, f"folder {str(folder)!r} does not exist", where)
    with _removed_on_signal() as pending:
        with _signals_held():  # a kill between creating the file and noting its name would leave it behind
            try:
                fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:TEMP_NAME_MAX]}.", suffix=".tmp", dir=folder)
            except OSError as exc:
                raise _refuse(target, f"cannot write: {exc.strerror}", where) from None
            pending.append(tmp)
        try:
            with os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
                yield f
            if kind == "file":  # the file may have changed since it was checked: check again
                output_kind(target, where)
            os.chmod(tmp, (os.stat(target).st_mode & 0o777) if kind == "file" else 0o644 & ~_umask())
            os.replace(tmp, target)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise _refuse(target, f"cannot write: {exc.strerror}", where) from None
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


@contextlib.contextmanager
def _open_stream(target: Path, binary: bool, where: str) -> Iterator[IO[Any]]:
    """A character device or FIFO, opened for writing without O_CREAT or O_TRUNC; a FIFO without a reader
    is an error, not a wait. Checked again once open (the path may have changed in between)."""
    try:
        fd = os.open(target, os.O_WRONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        reason = "no process is reading this FIFO" if exc.errno == errno.ENXIO else exc.strerror
        raise _refuse(target, f"cannot write: {reason}", where) from None
    mode = os.fstat(fd).st_mode
    if not (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
        os.close(fd)
        raise _refuse(target, "changed while being opened; refusing to write to it", where)
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    try:
        with os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            yield f
    except OSError as exc:
        raise _refuse(target, f"cannot write: {exc.strerror}", where) from None


class _Killed(BaseException):  # a signal, not an error: re-sent once the clean-up ran
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def _removed_on_signal() -> Iterator[list[str]]:
    """While the block runs, SIGTERM, SIGHUP and SIGINT remove the temporary files listed, then take their
    usual course (the process ends by that signal; SIGINT raises KeyboardInterrupt)."""
    pending: list[str] = []
    if threading.current_thread() is not threading.main_thread():  # handlers belong to the main thread
        yield pending
        return

    def handler(signum: int, frame: Any) -> None:
        raise _Killed(signum)

    # a signal the process ignores (SIGHUP under nohup) stays ignored
    previous = {s: signal.signal(s, handler) for s in KILL_SIGNALS if signal.getsignal(s) is not signal.SIG_IGN}
    try:
        yield pending
    except _Killed as killed:
        for tmp in pending:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        _restore(previous)
        signal.raise_signal(killed.signum)  # the previous handler, or the default action: the process ends
        raise
    finally:
        _restore(previous)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Delay SIGTERM, SIGHUP and SIGINT until the block is done (where the platform allows)."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, KILL_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _restore(previous: dict[int, Any]) -> None:
    for s, h in previous.items():
        signal.signal(s, h)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
