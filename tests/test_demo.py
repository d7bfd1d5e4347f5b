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
