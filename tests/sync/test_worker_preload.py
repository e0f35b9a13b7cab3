"""worker.py imports what the jobs import before RQ forks their work horses (issue 13).

Each job runs in a forked work horse; a module the job imports inside a function and the worker never
imported is imported (and, under PYTHONDONTWRITEBYTECODE, compiled) again in every horse. The test
reads the function-level `from portal... import` statements of the job modules and checks, in a fresh
interpreter, that worker.preload() leaves none of them to import later.
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _late_imports(module: str) -> set[str]:
    """The portal modules `module` imports inside its functions."""
    path = ROOT / (module.replace(".", "/") + ".py")
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith("portal"):
                    found.add(inner.module)
    return found


def test_the_worker_preloads_what_its_jobs_import_late():
    sys.path.insert(0, str(ROOT))
    try:
        import worker
    finally:
        sys.path.remove(str(ROOT))
    wanted = set()
    for module in worker.PRELOAD:
        wanted |= _late_imports(module)
    wanted |= _late_imports("portal.sync.mapper")  # mapper_for, called by every run
    assert "portal.sync.documents" in wanted and "portal.sync.engine" in wanted  # the scan reads what it should
    script = ("import json, sys, worker; worker.preload(); "
              f"print(json.dumps(sorted(m for m in {sorted(wanted)!r} if m not in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    missing = json.loads(done.stdout.strip().splitlines()[-1])
    assert missing == [], f"imported by a job inside a function but not preloaded by worker.py: {missing}"
