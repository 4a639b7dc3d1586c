"""The SQL models under `sql/`: discovery and dependency order.

A model is one SELECT in `sql/<layer>/<name>.sql` that becomes the table `<layer>.<name>`.
Dependencies are read from the SQL itself (`raw.x`, `staging.x`, `marts.x` references), so
adding a model is adding a file. Staging models filter their lake reads with `{{partitions}}`,
which the runner replaces by the day partitions to (re)load, which is what makes them
incremental; marts are small enough to rebuild from staging every time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from graphlib import TopologicalSorter
from pathlib import Path

SQL_DIR = Path(__file__).parent / "sql"
LAYERS = ("staging", "marts")
PARTITIONS_PLACEHOLDER = "{{partitions}}"
_REF = re.compile(r"\b(raw|staging|marts)\.([a-z_][a-z0-9_]*)\b")


@dataclass(frozen=True)
class Model:
    layer: str
    name: str
    sql: str
    description: str
    depends_on: frozenset[str]
    """Other models (`layer.name`) this one reads."""
    raw_sources: frozenset[str]
    """Raw views (lake event tables) this one reads."""

    @property
    def key(self) -> str:
        return f"{self.layer}.{self.name}"

    @property
    def incremental(self) -> bool:
        return PARTITIONS_PLACEHOLDER in self.sql

    def render(self, partition_filter: str) -> str:
        return self.sql.replace(PARTITIONS_PLACEHOLDER, partition_filter)


def _description(sql: str) -> str:
    lines = []
    for line in sql.splitlines():
        if not line.startswith("--"):
            break
        lines.append(line[2:].strip())
    return " ".join(lines)


@cache
def load_models() -> dict[str, Model]:
    """Every model, keyed `layer.name`, in dependency order."""
    found: dict[str, Model] = {}
    for layer in LAYERS:
        for path in sorted((SQL_DIR / layer).glob("*.sql")):
            sql = path.read_text()
            refs = {(m.group(1), m.group(2)) for m in _REF.finditer(sql)}
            found[f"{layer}.{path.stem}"] = Model(
                layer=layer,
                name=path.stem,
                sql=sql,
                description=_description(sql),
                depends_on=frozenset(f"{lay}.{n}" for lay, n in refs if lay != "raw"),
                raw_sources=frozenset(n for lay, n in refs if lay == "raw"),
            )
    unknown = {d for m in found.values() for d in m.depends_on} - found.keys()
    if unknown:
        raise ValueError(f"models reference unknown models: {sorted(unknown)}")
    order = TopologicalSorter({k: m.depends_on for k, m in found.items()}).static_order()
    return {key: found[key] for key in order}


def downstream_of(keys: set[str]) -> set[str]:
    """The models that read, directly or not, any of `keys` (these included)."""
    models = load_models()
    out = set(keys)
    for key, model in models.items():  # dependency order: parents come first
        if model.depends_on & out:
            out.add(key)
    return out
