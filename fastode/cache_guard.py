"""Drop numba's disk cache of fastode's kernels when their sources changed.

numba checks only the timestamp of the file that defines a cached function, not of the helpers it
inlines from other files (numba#1833): after editing, say, kernels/linalg.py, a driver in
kernels/rosenbrock.py would load stale machine code. ``invalidate_if_changed()`` hashes the
package's files that hold cached kernels or intrinsics and deletes the package's
``*.nbi``/``*.nbc`` files when the hash differs from the one recorded with them. The test suite
and ``fastode warmup`` call it before anything is compiled; an installed (unchanged) package keeps
its cache.
"""
import hashlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
_STAMP = PACKAGE / "__pycache__" / "fastode-sources.sha256"


def sources_hash() -> str:
    """Hash of the sources of cached kernels and of the intrinsics they inline."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_bytes()
        if b"cache=True" in text or b"@intrinsic" in text:
            digest.update(str(path.relative_to(PACKAGE)).encode())
            digest.update(text)
    return digest.hexdigest()


def invalidate_if_changed() -> bool:
    """Delete stale numba cache files; returns True when it deleted anything."""
    current = sources_hash()
    try:
        recorded = _STAMP.read_text().strip()
    except OSError:
        recorded = None
    removed = False
    if recorded != current:
        for pattern in ("*.nbi", "*.nbc"):
            for path in PACKAGE.rglob(pattern):
                try:
                    path.unlink()
                    removed = True
                except OSError:
                    pass
        try:
            _STAMP.parent.mkdir(parents=True, exist_ok=True)
            _STAMP.write_text(current)
        except OSError:
            pass  # read-only install: nothing was cached there either
    return removed
