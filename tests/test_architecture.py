"""The layout rules a reader relies on: the knowledge layer knows nothing of Flask."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("flask", "flask_sqlalchemy", "flask_login", "flask_wtf", "pybo.extensions",
             "pybo.models", "pybo.rag_chat", "pybo.assistant")  # fmt: skip


def imported_modules(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_knowledge_layer_does_not_import_the_app():
    offenders = []
    for path in sorted((ROOT / "pybo" / "knowledge").glob("*.py")):
        for module in imported_modules(path):
            if any(module == f or module.startswith(f + ".") for f in FORBIDDEN):
                offenders.append(f"{path.name}: {module}")
    assert offenders == []


def test_jobs_infrastructure_imports_no_feature():
    path = ROOT / "pybo" / "jobs" / "__init__.py"
    features = ("pybo.rag_chat", "pybo.assistant", "pybo.question", "pybo.answer")
    assert [m for m in imported_modules(path) if m.startswith(features)] == []
