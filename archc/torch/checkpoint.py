"""Checkpoints in: read a torch state_dict as data and pair its tensors with a lowered module's.

A checkpoint is `torch.save(model.state_dict(), F)` or a dict holding one under a usual key
(`state_dict`, `model_state_dict`, `model`, ...), read with `torch.load(weights_only=True)`: it
can hold tensors, never code. Pairing, in this order:

1. an explicit map (`--weights-map MAP.yaml`, see archc.torch.weightmap): `archc path: checkpoint key`
   pairs or prefix rules;
2. by name, when the checkpoint's keys are the module's own (archc's `DIR/weights.pt`);
3. the rest by module order: the i-th module with weights in execution order takes the i-th module of
   the checkpoint (in its saved order), matched tensor by tensor by role (weight, bias, running_mean,
   running_var; num_batches_tracked ignored) and shape.

Any disagreement is one line naming the first disagreeing pair, and nothing is loaded.

    report = load_into(module, "mobilenet_v2.pth")       # torchvision's state_dict
    archc build specs/mobilenetv2.yaml --weights mobilenet_v2.pth
"""
from __future__ import annotations

import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from archc.torch.weightmap import WeightMap, WeightsError

USUAL_KEYS = ("state_dict", "model_state_dict", "model", "module", "net", "weights", "params")
IGNORED = ("num_batches_tracked",)


@dataclass
class MappingReport:
    """How a checkpoint's tensors were paired with the module's."""

    source: str
    paired: list = field(default_factory=list)  # (archc key, checkpoint key, shape)
    kept: list = field(default_factory=list)  # archc keys left at their seeded init (the map's `keep`)
    ignored: list = field(default_factory=list)  # checkpoint keys the map's `ignore` skipped
    how: dict = field(default_factory=dict)  # "map" / "name" / "order" -> tensors paired that way
    carried: dict | None = None  # through width / repeat / drop: {"kept_norm": fraction of the L1 norm}
    took: str = ""  # what the file gave: "its state_dict" or a training checkpoint's model weights

    def to_json(self) -> dict:
        return {"source": self.source, "paired": len(self.paired), "how": self.how,
                "left_in_archc": self.kept, "left_in_checkpoint": self.ignored, "carried": self.carried,
                "pairs": [{"archc": a, "checkpoint": c, "shape": list(s)} for a, c, s in self.paired]}


def read_checkpoint(path) -> dict:
    """The state_dict in `path` (tensors only, `module.` prefixes stripped)."""
    return read_described(path)[0]


def read_described(path) -> tuple[dict, str]:
    """(the state_dict in `path`, what was taken from the file: "its state_dict", or the model weights of
    archc's own training checkpoint RUN/checkpoint.pt, which also holds the optimiser and schedule)."""
    data = load_file(path)
    return as_state_dict(data, str(path)), took(data)


def load_file(path):
    """`torch.load(path, weights_only=True)`: tensors and plain containers only, never code; a refusal or a
    damaged file is one WeightsError (torch's advice to load a refused file unsafely is not passed on)."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: no such checkpoint file")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise WeightsError(f"{path}: refused: the file holds Python objects other than tensors (a pickle "
                           f"that could run code{_refused(exc)}); save model.state_dict() instead") from None
    except Exception as exc:  # torch raises RuntimeError, EOFError, zip errors... for a damaged file
        raise WeightsError(f"{path}: not a readable torch checkpoint ({type(exc).__name__}: {_first_line(exc)}); "
                           f"the file may be truncated: save it again with torch.save(model.state_dict(), F)"
                           ) from None
    return data


def as_state_dict(data, where: str = "checkpoint") -> dict:
    """A state_dict from a checkpoint's contents: the dict itself or the one under a usual key."""
    if isinstance(data, dict) and data and not _is_state_dict(data):
        data = next((data[k] for k in USUAL_KEYS if isinstance(data.get(k), dict) and _is_state_dict(data[k])),
                    data)
    if not isinstance(data, dict) or not data or not _is_state_dict(data):
        keys = ", ".join(map(str, list(data)[:5])) if isinstance(data, dict) else type(data).__name__
        raise WeightsError(f"{where}: no state_dict in it (found {keys or 'nothing'}); expected "
                           f"torch.save(model.state_dict()) or a dict with one under "
                           f"{', '.join(USUAL_KEYS[:3])}")
    for key, value in data.items():
        if not isinstance(value, torch.Tensor):
            raise WeightsError(f"{where}: '{key}' is a {type(value).__name__}, not a tensor")
    if all(k.startswith("module.") for k in data):  # saved from DataParallel / DDP
        data = {k[len("module."):]: v for k, v in data.items()}
    return data


def _is_state_dict(d: dict) -> bool:
    return all(isinstance(k, str) for k in d) and any(isinstance(v, torch.Tensor) for v in d.values())


def _refused(exc) -> str:
    """What torch's weights-only unpickler refused, without its advice to load the file unsafely."""
    found = re.search(r"WeightsUnpickler error: ([^\n]*)", str(exc))
    what = found.group(1).split(". ")[0].strip() if found else ""
    return f": {what[:160]}" if what else ""


def took(data) -> str:
    """What a checkpoint's contents give: its state_dict as such, or the model weights of archc's training
    checkpoint."""
    state = data.get("state") if isinstance(data, dict) else None
    if isinstance(state, dict) and isinstance(data.get("module"), dict):
        done = len(state.get("epochs") or [])
        return f"the model weights of archc's training checkpoint ({state.get('spec')}, after epoch {done})"
    return "its state_dict"


def _first_line(exc) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:160] if text else type(exc).__name__


def load_into(module: nn.Module, checkpoint, mapping=None) -> MappingReport:
    """Load `checkpoint` (a path or a state_dict) into `module` (lowered by archc) and say how
    its tensors were paired; on any mismatch raise WeightsError and leave `module` untouched.
    `mapping` is a WeightMap, a map file's path, or a dict `{archc path: checkpoint key}`."""
    source = str(checkpoint) if isinstance(checkpoint, (str, Path)) else "state_dict"
    ckpt, what = read_described(checkpoint) if isinstance(checkpoint, (str, Path)) else (as_state_dict(checkpoint), "")
    state, report = pair(module, ckpt, WeightMap.of(mapping), source)
    report.took = what
    module.load_state_dict(state, strict=True)
    return report


def save_weights(module: nn.Module, path) -> None:
    """`module`'s state_dict keyed by module path (= spec path), in execution order, so that
    `--weights path` reloads it by name and another model can take it by order."""
    state = module.state_dict()
    torch.save({k: state[k] for k in _execution_order(module, list(state))}, path)


def pair(module: nn.Module, ckpt: dict, wmap: WeightMap, source: str) -> tuple[dict, MappingReport]:
    """The module's full new state_dict, and the report; nothing is touched."""
    own = {k: v for k, v in module.state_dict().items() if not k.endswith(IGNORED)}
    ckpt = {k: v for k, v in ckpt.items() if not k.endswith(IGNORED)}
    report = MappingReport(source)
    report.ignored = [k for k in ckpt if wmap.ignores(k)]
    report.kept = [k for k in own if wmap.keeps(k)]
    pairs = wmap.pairs(own, ckpt, source)  # explicit first
    report.how["map"] = len(pairs)
    left_own = [k for k in own if k not in pairs and k not in report.kept]
    used = set(pairs.values()) | set(report.ignored)
    for mine, theirs in wmap.subtrees(left_own, [k for k in ckpt if k not in used]):  # `order:` subtrees
        pairs.update(by_order(_execution_order(module, mine), theirs, own, ckpt, source))
        report.how["map"], used = len(pairs), used | set(theirs)
    left_own = [k for k in left_own if k not in pairs]
    left_ckpt = [k for k in ckpt if k not in used]
    if set(left_own) == set(left_ckpt):
        named = {k: k for k in left_own}
        report.how["name"] = len(named)
    else:
        named = by_order(_execution_order(module, left_own), left_ckpt, own, ckpt, source)
        report.how["order"] = len(named)
    pairs.update(named)
    state = module.state_dict()
    for a, c in pairs.items():
        _check(a, own[a], c, ckpt[c], source)
        state[a] = ckpt[c].to(own[a].dtype).clone()
        report.paired.append((a, c, tuple(own[a].shape)))
    return state, report


def _check(a: str, mine: torch.Tensor, c: str, theirs: torch.Tensor, source: str) -> None:
    if tuple(mine.shape) != tuple(theirs.shape):
        raise WeightsError(f"{source}: archc '{a}' {_shape(mine)} does not match checkpoint '{c}' {_shape(theirs)}")
    if not theirs.is_floating_point():
        raise WeightsError(f"{source}: checkpoint '{c}' is {str(theirs.dtype).replace('torch.', '')}, "
                           f"archc '{a}' needs a floating-point tensor")


def _shape(t: torch.Tensor) -> str:
    return "[" + ", ".join(map(str, t.shape)) + "]"


def _execution_order(module: nn.Module, keys: list) -> list:
    """`keys` ordered by when their module first runs (an fx module's graph order; else registration)."""
    graph = getattr(module, "graph", None)
    order = [n.target for n in graph.nodes if n.op == "call_module"] if graph is not None else []
    rank = {}
    for i, target in enumerate(order):
        rank.setdefault(target, i)
    pos = {k: i for i, k in enumerate(keys)}
    return sorted(keys, key=lambda k: (rank.get(k.rsplit(".", 1)[0], len(order)), pos[k]))


def by_order(own_keys: list, ckpt_keys: list, own: dict, ckpt: dict, source: str) -> dict:
    """Pair module i with checkpoint module i, tensor by tensor by role."""
    mine, theirs = _modules(own_keys), _modules(ckpt_keys)
    pairs = {}
    for i, (m, roles) in enumerate(mine):
        if i >= len(theirs):
            a = next(iter(roles.values()))
            raise WeightsError(f"{source}: archc '{a}' {_shape(own[a])} has no counterpart: the checkpoint has "
                               f"{len(theirs)} modules with weights, archc {len(mine)} (wrong architecture? a "
                               f"--weights-map can pair or keep the rest)")
        c, croles = theirs[i]
        if set(roles) != set(croles):
            a, k = _first_difference(roles, croles)
            raise WeightsError(f"{source}: archc module '{m}' ({', '.join(roles)}) does not match checkpoint "
                               f"module '{c}' ({', '.join(croles)}): '{a}' vs '{k}'")
        for role, a in roles.items():
            _check(a, own[a], croles[role], ckpt[croles[role]], source)
            pairs[a] = croles[role]
    if len(theirs) > len(mine):
        c = next(iter(theirs[len(mine)][1].values()))
        raise WeightsError(f"{source}: checkpoint '{c}' {_shape(ckpt[c])} has no counterpart: the checkpoint has "
                           f"{len(theirs)} modules with weights, archc {len(mine)} (wrong architecture? the "
                           f"map's `ignore` can skip checkpoint keys)")
    return pairs


def _modules(keys: list) -> list:
    """[(module path, {role: key})] in the order the keys come."""
    out: dict = {}
    for k in keys:
        prefix, _, role = k.rpartition(".")
        out.setdefault(prefix, {})[role] = k
    return list(out.items())


def _first_difference(roles: dict, croles: dict) -> tuple:
    a = next((roles[r] for r in roles if r not in croles), "-")
    k = next((croles[r] for r in croles if r not in roles), "-")
    return a, k
