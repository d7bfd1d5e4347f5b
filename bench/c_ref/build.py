"""Build the C reference: ``python -m bench.c_ref.build [--force]`` (gcc -O2 -shared -fPIC).

The library lands in bench/c_ref/build/libdopri5.so (gitignored); see bench/c_ref/__init__.py.
"""
import sys

from bench.c_ref import build

if __name__ == "__main__":
    print(build(force="--force" in sys.argv, verbose=True))
