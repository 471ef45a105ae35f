"""AST-based normalization of chart programs, applied before execution and reward extraction.

Steps, in order:

1. take the program out of a model reply (first python block);
2. canonical imports: ``import matplotlib.pyplot as p`` / ``from matplotlib import pyplot`` ->
   ``plt``; numpy -> ``np``, pandas -> ``pd``, seaborn -> ``sns``; ``from matplotlib.pyplot import
   bar`` -> calls become ``plt.bar``; simple re-bindings (``P = plt``) are resolved;
3. drop ``show``, ``savefig``, ``close``, ``pause`` calls (the sandbox renders the figure itself);
4. inline simple constants: a module-level name bound exactly once to a literal (number, string,
   tuple/list of literals) and never re-bound, augmented or mutated is replaced by its value, and
   the binding is removed;
5. canonical text: ``ast.unparse`` (comments and formatting removed), imports first and sorted.

Two programs that differ only in these respects normalize to the same text (used to remove duplicate
code from the corpus), and they draw the same chart. The paper normalizes code so that rule-based
extraction from the *text* works; we extract rewards from the executed figure (see rewards.py), so
here normalization mainly makes execution uniform and deduplication meaningful.
"""

from __future__ import annotations

import ast

from msrl.execution.codeblock import extract_code

CANONICAL = {"matplotlib.pyplot": "plt", "numpy": "np", "pandas": "pd", "seaborn": "sns", "matplotlib": "matplotlib"}
DROPPED_CALLS = {"show", "savefig", "close", "pause"}
_MUTATORS = {
    "append",
    "extend",
    "insert",
    "pop",
    "remove",
    "sort",
    "reverse",
    "clear",
    "update",
    "add",
    "discard",
    "setdefault",
    "popitem",
    "__setitem__",
}


class NormalizationError(ValueError):
    """The program is not valid Python (it is returned unchanged by ``normalize_or_keep``)."""


def normalize_code(reply: str) -> str:
    code = extract_code(reply)
    try:
        tree = ast.parse(code)
    except SyntaxError as err:
        raise NormalizationError(f"not valid Python: {err.msg} (line {err.lineno})") from None
    aliases, imported_names, other_imports, body = _collect_imports(tree)
    tree.body = body
    tree = _Rename(aliases, imported_names).visit(tree)
    tree.body = [stmt for stmt in tree.body if not _is_dropped_call(stmt)]
    _inline_constants(tree)
    # only modules the program imported, and only those it still uses after the edits above
    imported = set(aliases.values()) | {
        module for module, alias in CANONICAL.items() if any(v.startswith(alias + ".") for v in imported_names.values())
    }
    used = _used_names(tree)
    imports = sorted({_import_line(m) for m in imported if CANONICAL[m] in used} | other_imports)
    text = ast.unparse(ast.fix_missing_locations(tree))
    return "\n".join(imports + ([""] if imports else []) + [text]).strip() + "\n"


def normalize_or_keep(reply: str) -> str:
    """Normalized code, or the extracted code unchanged when it does not parse."""
    try:
        return normalize_code(reply)
    except NormalizationError:
        return extract_code(reply)


def _import_line(module: str) -> str:
    alias = CANONICAL[module]
    return f"import {module}" if alias == module else f"import {module} as {alias}"


def _collect_imports(tree: ast.Module):
    """Return (local alias -> module), (local name -> 'plt.bar'), other import lines, rest of body."""
    aliases: dict[str, str] = {}
    names: dict[str, str] = {}
    other: set[str] = set()
    body = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                local = alias.asname or alias.name.split(".")[0]
                if alias.name in CANONICAL and (alias.asname or alias.name == "matplotlib"):
                    aliases[local] = alias.name
                elif alias.name in CANONICAL and not alias.asname:
                    aliases[alias.name] = alias.name  # `import numpy` used as numpy.x
                else:
                    other.add(ast.unparse(ast.Import(names=[alias])))
            continue
        if isinstance(stmt, ast.ImportFrom) and stmt.level == 0:
            kept = []
            for alias in stmt.names:
                full = f"{stmt.module}.{alias.name}"
                local = alias.asname or alias.name
                if full in CANONICAL:
                    aliases[local] = full
                elif stmt.module in CANONICAL and alias.name != "*":
                    names[local] = f"{CANONICAL[stmt.module]}.{alias.name}"
                else:
                    kept.append(alias)
            if kept:
                other.add(ast.unparse(ast.ImportFrom(module=stmt.module, names=kept, level=0)))
            continue
        body.append(stmt)
    # simple re-bindings at module level: `P = plt`
    for stmt in list(body):
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
            and isinstance(stmt.value, ast.Name)
            and stmt.value.id in aliases
        ):
            aliases[stmt.targets[0].id] = aliases[stmt.value.id]
            body.remove(stmt)
    return aliases, names, other, body


class _Rename(ast.NodeTransformer):
    def __init__(self, aliases: dict[str, str], names: dict[str, str]):
        self.aliases = {local: CANONICAL[module] for local, module in aliases.items()}
        self.names = names

    def visit_Name(self, node: ast.Name):
        if node.id in self.aliases:
            return ast.copy_location(ast.Name(id=self.aliases[node.id], ctx=node.ctx), node)
        if node.id in self.names and isinstance(node.ctx, ast.Load):
            return ast.copy_location(ast.parse(self.names[node.id], mode="eval").body, node)
        return node

    def visit_Attribute(self, node: ast.Attribute):
        # `matplotlib.pyplot.bar` (full path) -> `plt.bar`
        dotted = _dotted(node.value)
        if dotted in CANONICAL and dotted != "matplotlib":
            return ast.copy_location(
                ast.Attribute(value=ast.Name(id=CANONICAL[dotted], ctx=ast.Load()), attr=node.attr, ctx=node.ctx), node
            )
        self.generic_visit(node)
        return node


def _dotted(node) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    return None


def _is_dropped_call(stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Call)
        and isinstance(stmt.value.func, ast.Attribute)
        and stmt.value.func.attr in DROPPED_CALLS
    )


def _used_names(tree) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def _is_literal(node) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return not isinstance(node, (ast.Dict, ast.Set))  # mutable in place in ways we do not track


def _inline_constants(tree: ast.Module) -> None:
    bindings: dict[str, list] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bindings.setdefault(node.id, []).append(node)
        elif isinstance(node, (ast.FunctionDef, ast.Lambda, ast.ClassDef, ast.Global, ast.Nonlocal)):
            for arg in getattr(getattr(node, "args", None), "args", []):
                bindings.setdefault(arg.arg, []).extend([arg, arg])  # parameters shadow: never inline
            for name in getattr(node, "names", []):
                bindings.setdefault(name, []).extend([node, node])
    mutated = {
        n.value.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.attr in _MUTATORS
    }
    mutated |= {
        n.value.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del))
    }
    constants = {}
    for stmt in tree.body:
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
            and _is_literal(stmt.value)
        ):
            name = stmt.targets[0].id
            if len(bindings.get(name, [])) == 1 and name not in mutated:
                constants[name] = stmt
    if not constants:
        return

    class Inline(ast.NodeTransformer):
        def visit_Name(self, node):
            if isinstance(node.ctx, ast.Load) and node.id in constants:
                return ast.copy_location(ast.parse(ast.unparse(constants[node.id].value), mode="eval").body, node)
            return node

    tree.body = [stmt for stmt in tree.body if stmt not in constants.values()]
    Inline().visit(tree)
