"""A mutation check: apply each deliberate bug (a text replacement in archc's source) in
a temporary copy of the repository, run the tests that should notice, and report whether
they did (killed, and by which test) or not (survived). Not part of the timed suite.

    python benchmarks/mutants.py                 # every mutant; writes the table to stdout
    python benchmarks/mutants.py --only ppm      # the mutants whose id contains 'ppm'
    python benchmarks/mutants.py --second        # only issue 29's second set

The first ten are the bugs that survived the whole suite before (issue 10); the rest are ours.
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HONEST = ("tests/test_honest.py",)  # a tuple: these files only (their areas are not the compiler's core)
CORE = ["tests/test_equivalence.py", "tests/test_wiring.py", "tests/test_golden.py", "tests/test_loader.py"]
# (id, file, old text (must occur once), new text, extra test files beyond CORE, or a tuple: only these)
MUTANTS = [
    ("residual-removed", "archc/lang/stdlib.yaml",
     "      - {id: project, op: conv_bn, c: $c, k: 1}\n      - {id: residual, op: add, from: [in, project], "
     "when: $s == 1 and in_c == c}\n\n  ppm",
     "      - {id: project, op: conv_bn, c: $c, k: 1}\n      - {id: residual, op: add, from: [in, project], "
     "when: false}\n\n  ppm", []),
    ("ppm-concat-swapped", "archc/lang/stdlib.yaml", "{id: cat, op: concat, from: [branch, in]}",
     "{id: cat, op: concat, from: [in, branch]}", []),
    ("ppm-default-bins", "archc/lang/stdlib.yaml", "bins: {type: list, default: [1, 2, 3, 6]}",
     "bins: {type: list, default: [1, 2, 4, 8]}", []),
    ("adaptive-pool-bh-twice", "archc/ops/pool.py", "    bh, bw = pair(a[\"size\"])\n    return (c, bh, bw)",
     "    bh, bw = pair(a[\"size\"])\n    return (c, bh, bh)", []),
    ("drop-readers-to-input", "archc/passes/drop.py", 'return spec.stages[si - 1].id if si else "input"',
     'return "input"', []),
    ("verify-mean-not-max", "archc/onnx/verify.py", "float(np.max(np.abs(got.astype(np.float64) - want), initial=0.0))",
     "float(np.mean(np.abs(got.astype(np.float64) - want)))", []),
    ("floor-to-round-half-up", "archc/lang/spec.py", "return int(c * a + 1e-9) // d * d",
     "return int(c * a + 0.5) // d * d", []),
    # conv and deconv share one count since the op registry (archc/ops/conv.py): this mutant is also
    # what grouped-conv-params-dense was
    ("deconv-macs-no-groups", "archc/ops/conv.py", 'a["c"] * ins[0][0] // a["groups"] * kh * kw',
     'a["c"] * ins[0][0] * kh * kw', []),
    ("explain-loses-c_in", "archc/ops/conv.py", "else product(kh, kw, cin, c, h, w)", "else product(kh, kw, c, h, w)",
     []),  # the MAC formula text lives with the op since the registry
    ("alias-bomb-counter-cut", "archc/lang/yamlio.py", "    counter[0] += 1\n", "    pass\n", []),
    # ours
    ("stride-on-every-repeat", "archc/ir/build.py", '            if r > 0 and "s" in params:',
     '            if False and "s" in params:', []),
    ("bottleneck-hidden-ignores-t", "archc/lang/stdlib.yaml", "hidden: $int(round(in_c * t))",
     "hidden: $int(round(in_c * 6))", []),
    ("fusion-dilation-dropped", "archc/lang/stdlib.yaml", "k: 3, d: $scale, groups: $low_c", "k: 3, d: 1, groups: $low_c", []),
    ("concat-channels-first-only", "archc/ops/tensor.py", "return (sum(s[0] for s in ins), *ins[0][1:])",
     "return (ins[0][0] * len(ins), *ins[0][1:])", ["tests/test_specs.py"]),
    ("ceil-pool-last-window", "archc/ops/core.py", "        out -= 1\n", "        pass\n", ["tests/test_properties.py"]),
    ("make-divisible-no-10pct", "archc/lang/expr.py", "    if new_v < 0.9 * v:", "    if False:", []),
    ("shared-weights-not-shared", "archc/ir/build.py", "        return other.owner\n", "        return None\n", []),
    ("shared-params-counted-twice", "archc/ir/analysis.py", "0 if node.share else weights", "weights",
     ["tests/test_thesis_reference.py"]),
    ("activation-bytes-halved", "archc/ir/analysis.py", "2 * BYTES_PER_ELEMENT * prod(out)",
     "BYTES_PER_ELEMENT * prod(out)", ["tests/test_thesis_reference.py", "tests/test_honest.py"]),
    ("sweep-key-ignores-imports", "archc/sweep/sweep.py", "sources = [digest for _, digest in spec.sources]",
     "sources = [spec.sources[0][1]]", ["tests/test_sweep.py"]),
    ("sweep-key-ignores-version", "archc/sweep/sweep.py", "hashlib.sha256(VERSION.encode())",
     "hashlib.sha256(b'')", ["tests/test_sweep.py"]),
    ("builds-keyed-by-name", "archc/ir/workspace.py", "        key = spec.content_key\n", "        key = spec.name\n",
     ["tests/test_fast_analysis.py"]),
    ("key-ignores-the-input", "archc/lang/spec.py", "rest), self.input\n", "rest), None\n",
     ["tests/test_fast_analysis.py"]),
    ("carry-ignores-concat-offsets", "archc/ops/carry.py", "        at += n\n", "        pass\n",
     ["tests/test_weights_carry.py"]),
    ("nesting-bound-after-compose", "archc/lang/yamlio.py", "        if self.depth > MAX_DEPTH + 1:",
     "        if False:", []),
    ("strict-pool-checks-height-only", "archc/passes/input.py", "if bh > h or bw > w:", "if bh > h:",
     ["tests/test_passes.py"]),
    ("drop-row-loses-from", "archc/passes/drop.py", "        rows[idx] = replace(rows[idx], frm=row.frm)",
     "        pass", ["tests/test_passes.py"]),
    ("resize-to-ignored", "archc/ops/tensor.py",
     'return {**a, "size": list(graph.shape(refs["to"])[1:])} if refs.get("to") else a', 'return a', []),
    # issue 29: training, carrying, weights maps, fronts, the sweep cache, the latency model, budgets, the winner
    ("absent-class-counted-as-zero", "archc/train/metrics.py", "float(t / u) if u > 0 else None",
     "float(t / u) if u > 0 else 0.0", HONEST),
    ("pixel-accuracy-over-all-classes-rows", "archc/train/metrics.py", '"pixel_accuracy": round(float(tp.sum() / total), 6)',
     '"pixel_accuracy": round(float(tp.sum() / max(total, m.shape[0] ** 2)), 6)', HONEST),
    ("loss-without-ignore-index", "archc/train/losses.py", "return F.cross_entropy(logits, masks, ignore_index=IGNORE)",
     "return F.cross_entropy(logits, masks.clamp(max=logits.shape[1] - 1))", HONEST),
    ("bce-counts-ignored-pixels", "archc/train/losses.py", "per_pixel = per_pixel[keep]",
     "per_pixel = per_pixel.flatten()", HONEST),
    ("poly-precedence", "archc/train/loop.py", '"poly": lambda t: (1 - t) ** 0.9', '"poly": lambda t: 1 - t ** 0.9',
     HONEST),
    ("cosine-full-period", "archc/train/loop.py", "0.5 * (1 + math.cos(math.pi * t))",
     "0.5 * (1 + math.cos(2 * math.pi * t))", HONEST),
    ("schedule-over-epochs-not-steps", "archc/train/loop.py", "rule(min(step / max(steps, 1), 1.0))",
     "rule(min(step / max(steps, 1) * 2, 1.0))", HONEST),
    ("eval-imagenet-normalisation", "archc/train/evaluate.py",
     "compiled.spec.normalization(), Reading(fmt=how.fmt, full=True))",
     "default_normalization(compiled.graph.input_shape[0]), Reading(fmt=how.fmt, full=True))", HONEST),
    ("dataset-std-as-mean", "archc/train/datasets.py", "return (image.float() - self.mean) / self.std, mask.long()",
     "return (image.float() - self.std) / self.mean, mask.long()", HONEST),
    ("carry-keeps-weakest", "archc/torch/carry.py", "ranked = sorted(members, key=lambda c: (-norms[c], c))",
     "ranked = sorted(members, key=lambda c: (norms[c], c))", HONEST),
    ("weightmap-prefix-without-boundary", "archc/torch/weightmap.py",
     'return key == prefix or key.startswith(prefix + ".")', "return key.startswith(prefix)", HONEST),
    ("pareto-x-direction-from-y", "archc/sweep/pareto.py",
     "x_low = lower_is_better(x) if labels.x_low is None else labels.x_low",
     "x_low = lower_is_better(y) if labels.x_low is None else labels.x_low", HONEST),
    ("pareto-predicted-ms-higher-is-better", "archc/sweep/results.py", '"predicted_ms", "latency", "latency_ms"})',
     '"latency", "latency_ms"})', HONEST),
    ("sweep-key-ignores-input", "archc/sweep/sweep.py",
     "key = _key(code, spec, self.variables, self.input, passes_of(knobs), keyed)",
     "key = _key(code, spec, self.variables, None, passes_of(knobs), keyed)", HONEST),
    ("sweep-key-ignores-variables", "archc/sweep/sweep.py",
     "key = _key(code, spec, self.variables, self.input, passes_of(knobs), keyed)",
     "key = _key(code, spec, {}, self.input, passes_of(knobs), keyed)", HONEST),
    ("sweep-key-ignores-profile", "archc/sweep/sweep.py",
     "blob = json.dumps([CACHE_VERSION, code, sources, variables, input_, passes, profile], sort_keys=True)",
     "blob = json.dumps([CACHE_VERSION, code, sources, variables, input_, passes], sort_keys=True)", HONEST),
    ("latency-bytes-without-weights", "archc/measure/latency_model.py",
     "prod(node.shape) + layers[node.name].weights)", "prod(node.shape))", HONEST),
    ("latency-depthwise-as-grouped", "archc/measure/latency_model.py",
     'return "conv_depthwise" if g == cin else "conv_grouped"', 'return "conv_grouped"', HONEST),
    ("budget-met-exactly-is-broken", "archc/search/stages.py", "if violation is not None and violation > 0:",
     "if violation is not None and violation >= 0:", HONEST),
    ("winner-is-the-fronts-worst", "archc/search/run.py", "winner = front[0] if front else None",
     "winner = front[-1] if front else None", HONEST),
    ("front-ordered-the-wrong-way", "archc/search/run.py",
     "key=lambda r: -r[first.column] if first.maximize else r[first.column]",
     "key=lambda r: r[first.column] if first.maximize else -r[first.column]", HONEST),
    ("resume-forgets-the-schedule", "archc/train/checkpoint.py", '    sched.load_state_dict(saved["schedule"])\n',
     "", ("tests/test_train.py",)),
    ("remote-signal-is-success", "archc/measure/remote.py", "    if done.returncode:\n        raise ExportError(f\"{host}: the run on the device crashed",
     "    if done.returncode > 128 and False:\n        raise ExportError(f\"{host}: the run on the device crashed",
     ("tests/test_remote.py",)),
]

# issue 29, second set (written with the faults wave): off-by-ones, axes and directions, dropped inputs, ignore
# handling, constants, H/W swaps, layouts, resume state, signals, schedules, losses, sliding windows, latency
HONEST_II = ("tests/test_honest_ii.py", "tests/test_honest.py")  # the new file first: it is what the re-run asks
TRAIN_T, LAYOUT_T, LATENCY_T = (*HONEST_II, "tests/test_train.py"), (*HONEST_II, "tests/test_train_layouts.py"), \
    (*HONEST_II, "tests/test_latency.py")
MUTANTS_II = [
    ("miou-over-every-class", "archc/train/metrics.py", "round(float(np.mean(present)), 6) if present else None",
     "round(float(np.sum(present) / len(per_class)), 6) if present else None", HONEST_II),
    ("ignore-pixels-scored-as-class-0", "archc/train/metrics.py", "        keep = target != IGNORE\n",
     "        target = np.where(target == IGNORE, 0, target)\n        keep = target >= 0\n", HONEST_II),
    ("schedule-ends-a-step-early", "archc/train/loop.py", "rule(min(step / max(steps, 1), 1.0))",
     "rule(min(step / max(steps - 1, 1), 1.0))", HONEST_II),
    ("epochs-one-short", "archc/train/loop.py", 'range(len(state["epochs"]), config.epochs)',
     'range(len(state["epochs"]), config.epochs - 1)', TRAIN_T),
    ("resume-forgets-the-optimiser", "archc/train/checkpoint.py", '    opt.load_state_dict(saved["optimizer"])\n', "",
     ("tests/test_train.py",)),
    ("ohem-keeps-the-easy-pixels", "archc/train/losses.py", "(per_pixel > -math.log(OHEM_PROBABILITY))",
     "(per_pixel < -math.log(OHEM_PROBABILITY))", HONEST_II),
    ("ohem-without-its-minimum", "archc/train/losses.py", "kept = max(hard, math.ceil(OHEM_MIN_KEPT * per_pixel.numel()))",
     "kept = max(hard, 1)", HONEST_II),
    ("class-weights-enet-constant", "archc/train/losses.py", "torch.log(1.02 + freq)", "torch.log(1.2 + freq)", HONEST_II),
    ("class-weights-count-ignore", "archc/train/losses.py", "        mask = mask[mask != IGNORE]\n",
     "        mask = mask.clamp(max=len(counts) - 1)\n", HONEST_II),
    ("slide-last-window-not-flush", "archc/train/infer.py",
     "    return out if out[-1] == size - window else out + [size - window]", "    return out", HONEST_II),
    ("slide-window-hw-swapped", "archc/train/infer.py", "(h, w), (wh, ww) = x.shape[-2:], window",
     "(h, w), (ww, wh) = x.shape[-2:], window", HONEST_II),
    ("calib-resize-hw-swapped", "archc/onnx/calib.py", 'img.convert("L" if c == 1 else "RGB").resize((w, h),',
     'img.convert("L" if c == 1 else "RGB").resize((h, w),', (*HONEST_II, "tests/test_quantize.py")),
    ("calib-ignores-the-specs-normalisation", "archc/onnx/calib.py",
     "for v in (normalize or default_normalization(c)))", "for v in default_normalization(c))", HONEST_II),
    ("imagenet-std-typo", "archc/lang/normalize.py", "(0.229, 0.224, 0.225))", "(0.229, 0.224, 0.229))",
     (*HONEST_II, "tests/test_train_data.py")),
    ("crop-hw-swapped", "archc/train/augment.py", "(ch, cw), (_, h, w) = crop, image.shape",
     "(cw, ch), (_, h, w) = crop, image.shape", (*HONEST_II, "tests/test_train_data.py")),
    ("cityscapes-sidewalk-id", "archc/train/classes.py", '(8, 1, "sidewalk"', '(9, 1, "sidewalk"', LAYOUT_T),
    ("ade20k-without-the-shift", "archc/train/classes.py", "table(151, [(k, k - 1) for k in range(1, 151)])",
     "table(151, [(k, k) for k in range(0, 150)])", LAYOUT_T),
    ("latency-bytes-without-inputs", "archc/measure/latency_model.py",
     "moved = 4 * (sum(prod(s) for s in ins) + prod(node.shape)", "moved = 4 * (prod(node.shape)", LATENCY_T),
    ("latency-kxk-as-pointwise", "archc/measure/latency_model.py",
     'return "conv_1x1" if k in (1, [1, 1], (1, 1)) else "conv_kxk"', 'return "conv_1x1"', LATENCY_T),
    ("budget-at-least-read-as-at-most", "archc/search/space.py",
     'return value - self.bound if self.op == "<=" else self.bound - value', "return value - self.bound",
     (*HONEST_II, "tests/test_search.py")),
    ("sweep-train-key-ignores-epochs", "archc/train/proxy.py", "    settings = asdict(config) | {",
     '    settings = asdict(config) | {"epochs": 0} | {', (*HONEST_II, "tests/test_train_cache_key.py")),
    ("remote-signal-named-off-by-one", "archc/measure/remote.py", "signal.Signals(code - 128).name",
     "signal.Signals(code - 127).name", ("tests/test_remote.py", "tests/test_faults2_remote.py")),
]
MUTANTS += MUTANTS_II


def copy_tree(dst: Path) -> None:
    """The tracked files of the repository (or every file of an exported snapshot)."""
    if (ROOT / ".git").exists():
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        files = out.splitlines()
    else:
        files = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    for rel in files:
        if (ROOT / rel).is_file():
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, dst / rel)


def run_one(mid, rel, old, new, extra, timeout: int) -> tuple[str, str, float]:
    """(outcome, killing test or note, seconds) for one mutant."""
    with tempfile.TemporaryDirectory(prefix="archc-mutant-") as tmp:
        tmp = Path(tmp)
        copy_tree(tmp)
        text = (tmp / rel).read_text()
        if text.count(old) != 1:
            return "invalid", f"the text occurs {text.count(old)} times in {rel}", 0.0
        (tmp / rel).write_text(text.replace(old, new))
        chosen = list(extra) if isinstance(extra, tuple) else [*CORE, *extra]  # a tuple: these files, slow ones too
        cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-rf",
               *([] if isinstance(extra, tuple) else ["-m", "not slow"]), *chosen]
        start = time.perf_counter()
        try:
            done = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=timeout,
                                  env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
        except subprocess.TimeoutExpired:
            return "killed", f"(timeout after {timeout} s)", time.perf_counter() - start
        seconds = time.perf_counter() - start
        failed = re.findall(r"^FAILED (\S+)", done.stdout, re.M) or re.findall(r"^ERROR (\S+)", done.stdout, re.M)
        if done.returncode == 0:
            return "survived", "", seconds
        if done.returncode in (4, 5):  # pytest's usage error / no test collected: the check itself is broken
            return "invalid", f"pytest exit {done.returncode}: no test ran", seconds
        return "killed", failed[0] if failed else f"(pytest exit {done.returncode})", seconds


def main(only: str | None, timeout: int, second: bool = False) -> None:
    chosen = [m for m in (MUTANTS_II if second else MUTANTS) if not only or any(o in m[0] for o in only.split(","))]
    print("| mutant | file | outcome | killed by | s |\n|---|---|---|---|---|", flush=True)
    outcomes = []
    for mid, rel, old, new, extra in chosen:
        outcome, by, seconds = run_one(mid, rel, old, new, extra, timeout)
        outcomes.append(outcome)
        print(f"| {mid} | {rel} | {outcome} | {by} | {seconds:.0f} |", flush=True)
    killed = outcomes.count("killed")
    print(f"\n{killed} of {len(chosen)} mutants killed, {outcomes.count('survived')} survived, "
          f"{outcomes.count('invalid')} invalid")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run the mutants whose id contains this text (or one of A,B,...)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per mutant")
    parser.add_argument("--second", action="store_true", help="only issue 29's second set (MUTANTS_II)")
    args = parser.parse_args()
    main(args.only, args.timeout, args.second)
