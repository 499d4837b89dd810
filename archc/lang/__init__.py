"""The spec language: YAML reading with marks, expressions, the JSON Schema, spec values, the YAML block
library, imports, references, selectors and emitting a spec back as YAML. Needs no torch."""
