"""`--weights-map MAP.yaml`: how a checkpoint's keys pair with archc's module paths when their
orders (or their contents) differ. Every field is optional:

    map:                                   # archc path or prefix: checkpoint key or prefix
      backbone.features.0: features.0      # a prefix renames every tensor under it
      head.2.conv.weight: classifier.4.weight
    ignore: [classifier., aux_classifier.] # checkpoint keys (or prefixes) that are not for this model
    keep: [head]                           # archc paths (or prefixes) left at archc's seeded init
    order:                                 # archc prefix: checkpoint prefix, paired module by module
      stage3.low: layer3_                  # in archc's run order against the checkpoint's saved order

A file that holds only pairs may leave out `map:`. Tensors no rule names are paired by module order.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from archc.errors import ArchcError

FIELDS = ("map", "ignore", "keep", "order")


class WeightsError(ArchcError):
    """A checkpoint that cannot be read, or does not fit the compiled module."""


@dataclass(frozen=True)
class WeightMap:
    rules: dict = field(default_factory=dict)
    ignore: tuple = ()
    keep: tuple = ()
    where: str = "weights map"
    order: dict = field(default_factory=dict)

    @classmethod
    def of(cls, mapping) -> "WeightMap":
        """A WeightMap from None, a WeightMap, a dict of pairs (or of the fields) or a YAML file."""
        if mapping is None or isinstance(mapping, WeightMap):
            return mapping or cls()
        if isinstance(mapping, (str, Path)):
            return cls.load(mapping)
        return cls.parse(mapping, "weights map")

    @classmethod
    def load(cls, path) -> "WeightMap":
        import yaml

        path = Path(path)
        if not path.is_file():
            raise WeightsError(f"{path}: no such weights map")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            raise WeightsError(f"{path}: not UTF-8 text (byte {exc.start}); save the map as UTF-8 YAML") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f":{mark.line + 1}" if mark is not None else ""
            raise WeightsError(f"{path}{line}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
        return cls.parse(data, str(path))

    @classmethod
    def parse(cls, data, where: str) -> "WeightMap":
        if not isinstance(data, dict):
            raise WeightsError(f"{where}: expected a mapping of `archc path: checkpoint key` (or map/ignore/keep)")
        if not set(data) & set(FIELDS):
            data = {"map": data}
        unknown = sorted(set(data) - set(FIELDS))
        if unknown:
            raise WeightsError(f"{where}: unknown field '{unknown[0]}' (allowed: {', '.join(FIELDS)})")
        rules, order = data.get("map") or {}, data.get("order") or {}
        for name, value in (("map", rules), ("order", order)):
            pairs_ok = isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str)
                                                       for k, v in value.items())
            if not pairs_ok:
                raise WeightsError(f"{where}: `{name}` must pair strings, `archc.path: checkpoint.key`")
        lists = {}
        for name in ("ignore", "keep"):
            value = data.get(name) or []
            value = [value] if isinstance(value, str) else value
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise WeightsError(f"{where}: `{name}` must be a list of key prefixes")
            lists[name] = tuple(value)
        return cls(dict(rules), lists["ignore"], lists["keep"], where, dict(order))

    def ignores(self, ckpt_key: str) -> bool:
        return any(_under(ckpt_key, p) for p in self.ignore)

    def keeps(self, key: str) -> bool:
        return any(_under(key, p) for p in self.keep)

    def pairs(self, own: dict, ckpt: dict, source: str) -> dict:
        """archc key -> checkpoint key for every tensor a rule names (longest prefix wins)."""
        out, hit = {}, set()
        for key in own:
            rule = max((p for p in self.rules if _under(key, p)), key=len, default=None)
            if rule is None or self.keeps(key):
                continue
            target = self.rules[rule] + key[len(rule.rstrip(".")):]
            if target not in ckpt:
                raise WeightsError(f"{self.where}: '{rule}: {self.rules[rule]}' maps archc '{key}' to '{target}', "
                             f"which {source} does not have")
            out[key] = target
            hit.add(rule)
        missing = [p for p in self.rules if p not in hit]
        if missing:
            raise WeightsError(f"{self.where}: '{missing[0]}' names no archc tensor")
        return out


    def subtrees(self, own: list, ckpt: list):
        """Per `order` entry: (archc keys under its prefix, checkpoint keys under its other prefix)."""
        for mine, theirs in self.order.items():
            a, c = [k for k in own if _under(k, mine)], [k for k in ckpt if _under(k, theirs)]
            if not a or not c:
                raise WeightsError(f"{self.where}: order '{mine}: {theirs}' names no "
                                   f"{'archc' if not a else 'checkpoint'} tensor left to pair")
            yield a, c


def _under(key: str, prefix: str) -> bool:
    prefix = prefix.rstrip(".")
    return key == prefix or key.startswith(prefix + ".")
