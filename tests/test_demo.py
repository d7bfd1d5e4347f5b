"""`fastode demo` runs and reports every problem it solves."""
import io

from fastode.demo import run_demo


def test_demo_quick_table():
    out = io.StringIO()
    rows = run_demo(quick=True, file=out)
    text = out.getvalue()
    assert all(r["success"] for r in rows)
    assert "Robertson (stiff)" in text and "decay" in text and "speed-up over scipy" in text
    # fastode reaches scipy's accuracy on every row (same methods and tolerances)
    for r in rows:
        assert r["err_fastode"] <= 10 * r["err_scipy"] + 1e-12, r


def test_demo_analysis_writes_the_gallery(tmp_path):
    # `fastode demo analysis --quick --out DIR`: the six PNGs of the analysis gallery
    import matplotlib
    matplotlib.use("Agg")
    from fastode.cli import main
    out = tmp_path / "gallery"
    assert main(["demo", "analysis", "--quick", "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(f"analysis_{n}.png" for n in ("sir", "predator_prey", "oscillators",
                                                          "pendulum", "lorenz", "bifurcations"))
    for p in out.iterdir():
        data = p.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
