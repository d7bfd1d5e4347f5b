"""The lecture's stability and phase-plane examples with fastode.analysis: one PNG each
(the figures are listed in fastode/demo_analysis.py; the same as ``fastode demo analysis``).

Run:  python examples/analysis_gallery.py [--out examples] [--quick]   (needs matplotlib)
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from fastode.demo_analysis import run_analysis_demo  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    args = parser.parse_args(argv)
    run_analysis_demo(args.out, quick=args.quick)


if __name__ == "__main__":
    main()
