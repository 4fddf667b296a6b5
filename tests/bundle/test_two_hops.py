"""From a bundle config, the code of every medmonai name is two hops away: the package, then the defining module."""

from __future__ import annotations

import importlib
import re

import pytest

from tests.conftest import REPO

CONFIGS = sorted(REPO.glob("bundles/*/configs/*.yaml"))
NAME = re.compile(r"\b(medmonai(?:\.[a-z_]+)+)\.([A-Za-z_][A-Za-z0-9_]*)\b")


def medmonai_names(text: str) -> set[tuple[str, str]]:
    """``(module path, attribute)`` of every ``medmonai.x.Name`` in a config (``_target_`` values and ``$`` code)."""
    return {(m.group(1), m.group(2)) for m in NAME.finditer(text)}


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: f"{p.parents[1].name}/{p.name}")
def test_every_medmonai_name_is_defined_in_or_imported_straight_into_the_module_named(config):
    far = []
    for path, attr in sorted(medmonai_names(config.read_text(encoding="utf-8"))):
        try:
            module = importlib.import_module(f"{path}.{attr}")  # the name is a module itself
            continue
        except ModuleNotFoundError:
            module = importlib.import_module(path)
        obj = getattr(module, attr)
        home = getattr(obj, "__module__", path)
        source = open(module.__file__).read()
        if home != path and f"from {home} import" not in source:
            far.append(f"{path}.{attr} (defined in {home})")
    assert not far, f"more than two hops from {config.name}: {far}"
