"""What in a bundle is code: every ``$`` expression, ``_target_`` and ``logging.conf`` class, held to an allow-list.

A MONAI bundle config is a program: ``_target_`` names anything importable and ``$`` expressions go to ``eval``,
and ``logging.conf`` names handler classes and ``eval``-s their ``args``. A package from someone else is only
run when all of it stays inside the allow-list below, or when the receiver says ``--trust``.

The allow-list trusts the public API of a few libraries (:data:`ALLOWED_MODULES`) and plain builtins, minus the
parts that load or run code or files (:data:`DENIED_ATTRIBUTES`, and pickle switches such as ``allow_pickle``);
references to other config ids are free. It is a screen, not a sandbox: read what it lists before ``--trust``.
"""

from __future__ import annotations

import ast
import builtins
import configparser
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["ALLOWED_MODULES", "CodeItem", "scan_bundle", "scan_config", "scan_logging_conf"]

ALLOWED_MODULES = ("monai", "medmonai", "torch", "ignite", "numpy", "pathlib", "math")
SAFE_BUILTINS = frozenset(
    {"abs", "bool", "dict", "enumerate", "float", "int", "isinstance", "len", "list", "max", "min", "range"}
    | {"round", "sorted", "str", "sum", "tuple", "zip", "True", "False", "None", "set"}
)
_REF = re.compile(r"[@%][\w#]+(?:::[\w#]+)*")  # MONAI references, replaced by a plain name before parsing
_DANGEROUS_BUILTINS = {name for name in dir(builtins)} - SAFE_BUILTINS
# parts of the allowed libraries that load code or data from elsewhere, or run programs
DENIED_ATTRIBUTES = frozenset(
    {"optional_import", "import_module", "locate", "instantiate", "load_submodules", "hub", "ops", "classes"}
    | {"download", "download_url", "download_and_extract", "extractall", "system", "popen", "Popen", "spawn"}
    | {"exec", "eval", "compile", "fromfile", "tofile", "save", "rmtree", "unlink", "write_text", "write_bytes"}
)


@dataclass(frozen=True)
class CodeItem:
    """One piece of code in a bundle: where it is, what it says, and why it is outside the allow-list (or None)."""

    file: str
    where: str
    code: str
    problem: str | None

    @property
    def allowed(self) -> bool:
        """Whether it is inside the allow-list."""
        return self.problem is None


def _expression_problem(code: str, imports: tuple[str, ...]) -> str | None:
    """Why a ``$`` expression (without the ``$``) is outside the allow-list, or None when it is inside."""
    text = _REF.sub("_ref", code.strip())
    if text.startswith("import ") or text.startswith("from "):
        try:
            tree = ast.parse(text)
        except SyntaxError as e:
            return f"does not parse ({e.msg})"
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            bad = [n for n in names if n.split(".")[0] not in ALLOWED_MODULES]
            if bad:
                return f"imports {bad}"
        return None
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as e:
        return f"does not parse ({e.msg})"
    local = {"_ref"} | {a.arg for n in ast.walk(tree) if isinstance(n, ast.Lambda) for a in n.args.args}
    local |= {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }  # comprehension variables
    roots = set(ALLOWED_MODULES) | set(imports)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            return f"reaches a private attribute ({node.attr})"
        if isinstance(node, ast.Attribute) and node.attr in DENIED_ATTRIBUTES:
            return f"calls {ast.unparse(node)}, which loads or runs code or files"
        if isinstance(node, ast.Call) and any(
            k.arg in ("allow_pickle", "weights_only", "trust_repo") for k in node.keywords
        ):
            return f"sets {[k.arg for k in node.keywords if k.arg]} in {ast.unparse(node.func)}"
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            if node.id in local or node.id in SAFE_BUILTINS or node.id in roots:
                continue
            if node.id in _DANGEROUS_BUILTINS or node.id.startswith("_"):
                return f"calls {node.id}"
            return f"uses {node.id}, which is not in {list(ALLOWED_MODULES)}"
    return None


def _target_problem(target: str, imports: tuple[str, ...]) -> str | None:
    if target.startswith("$"):  # a computed target: held to the expression rules
        return _expression_problem(target[1:], imports)
    root = target.split(".")[0]
    if "." not in target:  # a bare name: allowed when it is one of MONAI's own components (Dataset, Compose, ...)
        from monai.bundle.config_item import ComponentLocator

        found = ComponentLocator().get_component_module_name(target)
        return None if found else f"{target} is not a MONAI component (a bare name would resolve to a builtin)"
    return None if root in ALLOWED_MODULES else f"{root} is not in {list(ALLOWED_MODULES)}"


def _walk(value: Any, where: str) -> Iterator[tuple[str, str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{where}#{key}" if where else str(key))
            if key == "_target_":
                yield where or "(top)", "target", item
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, f"{where}#{i}")
    elif isinstance(value, str) and value.startswith("$"):
        yield where, "expression", value[1:]


def scan_config(path: str | Path) -> list[CodeItem]:
    """Every ``_target_`` and ``$`` expression of one YAML/JSON config, each with its problem (None if allowed)."""
    path = Path(path)
    content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    imports = tuple(
        i[len("$import ") :].split(".")[0].strip() for i in content.get("imports", []) if str(i).startswith("$import ")
    )
    items = []
    for where, kind, code in _walk(content, ""):
        if kind == "target":
            problem = _target_problem(str(code), imports)
            items.append(CodeItem(path.name, where, f"_target_: {code}", problem))
        else:
            items.append(CodeItem(path.name, where, f"${code}", _expression_problem(str(code), imports)))
    return items


def scan_logging_conf(path: str | Path) -> list[CodeItem]:
    """The handler and formatter classes of a ``logging.conf`` and the handlers' ``args`` (which logging evaluates)."""
    path = Path(path)
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(path.read_text(encoding="utf-8"))
    except configparser.Error as e:
        return [CodeItem(path.name, "(file)", "", f"not a logging config ({e.message})")]
    items = []
    for section in parser.sections():
        if not section.startswith(("handler_", "formatter_")):
            continue
        for key in ("class", "args", "kwargs"):
            if key not in parser[section]:
                continue
            value = parser[section][key].strip()
            if key == "class":
                name = value if "." in value else f"logging.{value}"
                problem = None if name.split(".")[0] == "logging" else f"{name} is not a logging class"
            else:
                problem = _literal_problem(value)
            items.append(CodeItem(path.name, f"[{section}] {key}", value, problem))
    return items


def _literal_problem(text: str) -> str | None:
    """``args`` of a logging handler must be literals (or ``sys.stdout``/``sys.stderr``)."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as e:
        return f"does not parse ({e.msg})"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and ast.unparse(node) in ("sys.stdout", "sys.stderr"):
            continue
        if isinstance(
            node, (ast.Expression, ast.Tuple, ast.List, ast.Dict, ast.Constant, ast.Load, ast.USub, ast.UnaryOp)
        ):
            continue
        if isinstance(node, ast.Name) and node.id == "sys":
            continue
        return f"is not a literal ({type(node).__name__})"
    return None


def scan_bundle(root: str | Path) -> list[CodeItem]:
    """Every piece of code in a bundle folder's ``configs/``."""
    configs = Path(root) / "configs"
    items: list[CodeItem] = []
    for path in sorted(configs.iterdir()) if configs.is_dir() else []:
        if path.suffix in (".yaml", ".yml", ".json") and path.name != "metadata.json":
            items += scan_config(path)
        elif path.name == "logging.conf":
            items += scan_logging_conf(path)
    return items
