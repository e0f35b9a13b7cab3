"""Fill Spanish translations: `python scripts/i18n_es.py [pairs.json]`.

Re-extracts every message from the code and templates (babel.cfg), updates the catalogs,
fills empty Spanish entries from the optional JSON object {"English msgid": "Spanish"},
compiles, and lists what is still untranslated. Several people may run it at once: a lock
file serialises the catalog rewrite.
"""
from __future__ import annotations

import fcntl
import json
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "portal" / "translations"
ES = TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.po"
PYBABEL = [sys.executable, "-m", "babel.messages.frontend"]


def _run(*args: str) -> None:
    subprocess.run([*PYBABEL, *args], cwd=ROOT, check=True, capture_output=True)


def _key(message_id) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


def main(argv: list[str]) -> int:
    pairs = json.loads(Path(argv[0]).read_text(encoding="utf-8")) if argv else {}
    with open(TRANSLATIONS / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _run("extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext", "-o", str(TRANSLATIONS / "messages.pot"),
             ".")
        _run("update", "-i", str(TRANSLATIONS / "messages.pot"), "-d", str(TRANSLATIONS),
             "--no-fuzzy-matching", "--ignore-obsolete")
        with ES.open("rb") as handle:
            catalog = read_po(handle, locale="es")
        missing = []
        for message in catalog:
            if not message.id:
                continue
            if isinstance(message.string, (tuple, list)):
                if all(message.string):
                    continue
                plural = pairs.get(_key(message.id))
                if isinstance(plural, list) and len(plural) == 2:
                    message.string = (plural[0], plural[1], plural[1])[: len(message.string)]
                else:
                    missing.append(_key(message.id))
            elif not message.string:
                if _key(message.id) in pairs:
                    message.string = pairs[_key(message.id)]
                else:
                    missing.append(message.id)
        with ES.open("wb") as handle:
            write_po(handle, catalog, width=120)
        _run("compile", "-d", str(TRANSLATIONS))
    for message_id in missing:
        print("untranslated:", message_id)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
