"""The tiny segmentation spec the training, export and report tests share: a strided conv (and by default a
strided DSConv), extra rows a test needs, a 1x1 classifier of $classes (3) and a resize back to the input."""
from __future__ import annotations

STEM, DSCONV = "[conv_bn_act, 8, 2]", "[dsconv, 16, 2]"


def tiny_spec(h: int = 32, w: int = 32, rows: tuple = (STEM, DSCONV), scale: int = 4) -> str:
    body = "".join(f"      - {row}\n" for row in rows)
    return (f"name: tiny\ninput: [3, {h}, {w}]\nvars:\n  classes: 3\nstages:\n  - id: body\n"
            f"    columns: [op, c, s]\n    rows:\n{body}"
            f"      - {{op: conv, c: $classes, k: 1, bias: true, width: fixed}}\n"
            f"      - {{op: resize, scale: {scale}, align_corners: false}}\n")


def ok(args: list):
    """archc's CLI in this process; the run must succeed (its output in the failure message)."""
    from typer.testing import CliRunner

    from archc.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def trained_tiny(root):
    """root/tiny.yaml, root/data (3 classes, 12 images of 32x32) and root/run: the tiny net trained one epoch."""
    from archc.train.synth import synthesize

    (root / "tiny.yaml").write_text(tiny_spec())
    synthesize(root / "data", 3, 12, (32, 32), seed=1)
    ok(["train", root / "tiny.yaml", "--data", root / "data", "--epochs", "1", "--batch", "4", "--out", root / "run"])
    return root
