"""The package's layers: lower layers never import higher ones, and no reward reads module state."""

import ast
from pathlib import Path

import msrl

PACKAGE = Path(msrl.__file__).parent
# Lowest first. A module may import its own layer and the layers below it, never one above.
LAYERS = (
    "presets",
    "paths",
    "execution",
    "data",
    "scoring",
    "training",
    "evaluation",
    "studies",
    "viz",
    "stage",
    "run",
)


def layer_of(module: str) -> int:
    parts = module.split(".")
    assert parts[0] == "msrl" and len(parts) > 1, module
    return LAYERS.index(parts[1])


def imported_modules(path: Path) -> set[str]:
    """msrl modules a file imports, at module level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("msrl"):
            assert node.level == 0, f"{path}: relative import (use msrl.<layer>.<module>)"
            found.add(node.module if node.module != "msrl" else "msrl." + node.names[0].name)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("msrl.")}
    return found


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        dotted = "msrl." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__")
        if dotted != "msrl" and dotted.removesuffix(".__init__") != "msrl":
            yield dotted, path


def test_every_module_belongs_to_a_layer():
    for dotted, _ in modules():
        layer_of(dotted)


def test_lower_layers_never_import_higher_ones():
    violations = []
    for dotted, path in modules():
        for imported in imported_modules(path):
            if layer_of(imported) > layer_of(dotted):
                violations.append(f"{dotted} imports {imported}")
    assert not violations, "\n".join(violations)


def test_the_rule_catches_an_upward_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from msrl.studies import plateau\n")
    assert layer_of(next(iter(imported_modules(bad)))) > layer_of("msrl.execution.sandbox")


def test_no_reward_module_keeps_mutable_state():
    """Rewards are built from an explicit context (msrl.scoring.rewards.reward_funcs): no globals."""
    for path in [PACKAGE / "scoring" / "rewards.py", *sorted((PACKAGE / "scoring" / "judges").glob("*.py"))]:
        tree = ast.parse(path.read_text())
        assert not any(isinstance(n, ast.Global) for n in ast.walk(tree)), f"{path.name} uses `global`"
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, (ast.Dict, ast.List, ast.Set, ast.Call)):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
                assert all(n.isupper() for n in names), f"{path.name}: module-level mutable {names}"
