"""One line on stderr when compiling takes long, so a first call does not look like a hang.

numba compiles a kernel the first time it runs on a machine (after installing, ``fastode warmup``
has done that) and a user function the first time it is solved (later processes load it from the
disk cache). Either can take seconds. :func:`compile_notice` starts a timer; if the block is still
running after ``after`` seconds it prints one line on stderr, once per process and subject.
:func:`announce_compiles` applies it to every kernel of a module (the front-end modules call it
for the kernels they use). Silent when stderr is not a terminal (logs, CI, pipes) unless ``FASTODE_PROGRESS=1``;
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


def announce_compiles(*modules) -> None:
    """Make every numba kernel defined in ``modules`` announce a long compile (or cache load).

    numba's dispatcher calls its ``_compile_for_args`` only when no compiled version matches the
    arguments, so wrapping it costs nothing per call once compiled. Kernels called from other
    kernels compile inside their caller's notice. Idempotent.
    """
    for module in modules:
        for name, obj in vars(module).items():
            original = getattr(obj, "_compile_for_args", None)
            py_func = getattr(obj, "py_func", None)
            # a family package's kernels are defined in its submodules (kernels/radau/solve.py)
            if (original is None or py_func is None
                    or (py_func.__module__ != module.__name__
                        and not py_func.__module__.startswith(module.__name__ + "."))
                    or getattr(original, "_fastode_announced", False)):
                continue
            subject = f"the kernel {module.__name__.rsplit('.', 1)[-1]}.{name}"

            def compile_for_args(*args, _original=original, _subject=subject, **kws):
                with compile_notice(_subject):
                    return _original(*args, **kws)
            compile_for_args._fastode_announced = True
            obj._compile_for_args = compile_for_args
