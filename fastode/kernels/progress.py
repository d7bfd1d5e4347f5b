"""One line on stderr when compiling takes long, so a first call does not look like a hang.

numba compiles a kernel the first time it runs on a machine (after installing, ``fastode warmup``
has done that) and a user function the first time it is solved (later processes load it from the
disk cache). Either can take seconds. :func:`compile_notice` starts a timer; if the block is still
running after ``after`` seconds it prints one line on stderr, once per process and subject.
Silent when stderr is not a terminal (logs, CI, pipes) unless ``FASTODE_PROGRESS=1``;
``FASTODE_PROGRESS=0`` silences it everywhere.
"""
import contextlib
import os
import sys
import threading

_announced = set()
_lock = threading.Lock()


def _enabled() -> bool:
    flag = os.environ.get("FASTODE_PROGRESS", "")
    if flag in ("0", "1"):
        return flag == "1"
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _say(subject: str) -> None:
    with _lock:
        if subject in _announced:
            return
        _announced.add(subject)
    try:
        print(f"fastode: compiling {subject} (first use on this machine; cached for later "
              f"runs) ...", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


@contextlib.contextmanager
def compile_notice(subject: str, after: float = 1.0):
    """Print one line on stderr if the ``with`` block is still running after ``after`` seconds.

    Parameters
    ----------
    subject : str
        What is compiling, e.g. ``"the Radau kernel"`` or ``"`fun`"``.
    after : float
        Seconds before the line is printed; a block that ends sooner prints nothing.
    """
    if subject in _announced or not _enabled():
        yield
        return
    timer = threading.Timer(after, _say, args=(subject,))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


class announced:
    """A kernel entry point whose first call in a process runs under :func:`compile_notice`.

    Later calls go straight to the kernel (one attribute test). ``kernel`` is a numba
    dispatcher; ``subject`` names it in the message.
    """
    __slots__ = ("kernel", "subject", "_first")

    def __init__(self, kernel, subject: str):
        self.kernel = kernel
        self.subject = subject
        self._first = True

    def __call__(self, *args):
        if self._first:
            with compile_notice(self.subject):
                result = self.kernel(*args)
            self._first = False
            return result
        return self.kernel(*args)

    def __getattr__(self, name):  # the dispatcher's attributes (signatures, stats, py_func ...)
        return getattr(self.kernel, name)
