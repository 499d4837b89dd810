"""Printing for data, train and eval: the training progress bar (loss and throughput) and score tables."""
from __future__ import annotations

import contextlib

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table


def _err() -> Console:
    return Console(stderr=True)


@contextlib.contextmanager
def training(epochs: int):
    """A progress bar per run on stderr (terminals only); yields progress(epoch, step, steps, loss, ips)."""
    console = _err()
    if not console.is_terminal:
        yield _plain(epochs)
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("loss {task.fields[loss]:.4f}  {task.fields[ips]:.1f} img/s"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("epoch", total=1, loss=0.0, ips=0.0)

        def step(epoch, done, steps, loss, ips):
            bar.update(task, description=f"epoch {epoch + 1}/{epochs}", completed=done, total=steps,
                       loss=loss, ips=ips)

        yield step


def _plain(epochs: int, every: float = 30.0):
    """Progress for a pipe or a log file: one flushed line at the end of every epoch, and every `every`
    seconds inside a long one (a piped run is never silent for long)."""
    import sys
    import time

    last = [time.monotonic()]

    def step(epoch, done, steps, loss, ips):
        now = time.monotonic()
        if done == steps or now - last[0] >= every:
            last[0] = now
            print(f"epoch {epoch + 1}/{epochs}: step {done}/{steps}, loss {loss:.4f}, {ips:.1f} img/s",
                  file=sys.stderr, flush=True)

    return step


def epochs(state: dict) -> None:
    table = Table("epoch", "train loss", "val mIoU", "pixel acc", title=f"{state['spec']} training")
    for e in state["epochs"]:
        table.add_row(str(e["epoch"]), f"{e['train_loss']:.4f}", _pct(e["miou"]), _pct(e["pixel_accuracy"]))
    Console().print(table)
    if state.get("int8"):  # --qat
        Console().print(f"{state['int8']}: the int8 model of these weights (val mIoU above: fake-quantized); "
                        f"archc quantize-report ... --qat RUN compares it", highlight=False, soft_wrap=True)


def scores(results: dict) -> None:
    """{name: scores} side by side: mIoU, pixel accuracy, inference; then the IoU of each class by name."""
    table = Table("model", "mIoU", "pixel acc", "images", "inference")
    for name, s in results.items():
        table.add_row(name, _pct(s["miou"]), _pct(s["pixel_accuracy"]), str(s["images"]), s.get("inference", ""))
    Console().print(table)
    per = Table("class", *results, title="IoU per class")
    first = next(iter(results.values()))
    names = first.get("classes") or [f"class {k}" for k in range(len(first["per_class_iou"]))]
    names = names[-len(first["per_class_iou"]):]  # one class: the object only
    for k, name in enumerate(names):
        per.add_row(f"{k} {name}", *(_pct(s["per_class_iou"][k]) for s in results.values()))
    Console().print(per)


def synth(counts: dict, out) -> None:
    h, w = counts["size"]
    Console().print(f"wrote {counts['train']} train + {counts['val']} val images "
                    f"({counts['kind']}, {h}x{w}, {counts['classes']} classes) to {out}")


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.2f}%"
