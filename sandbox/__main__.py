"""Run the sandbox: python -m sandbox --port 8765 [--host 127.0.0.1] [--db PATH] [--reset]."""
from __future__ import annotations

import argparse
import logging
import os
import sys


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sandbox", description="Local Procore API sandbox")
    ap.add_argument("--port", type=int, default=int(os.environ.get("SANDBOX_PORT", 8765)))
    ap.add_argument("--host", default=os.environ.get("SANDBOX_HOST", "127.0.0.1"))
    ap.add_argument("--db", default=None, help="SQLite file (default: SANDBOX_DB_PATH or var/sandbox/sandbox.sqlite3)")
    ap.add_argument("--reset", action="store_true", help="wipe the database and blobs, then re-seed")
    ap.add_argument("--public-base-url", default=None, help="absolute base URL used in url fields and Link headers")
    ap.add_argument("--quiet", action="store_true", help="do not log every request")
    args = ap.parse_args(argv)

    from werkzeug.serving import run_simple

    from .core.app import create_app

    overrides = {}
    if args.db:
        overrides["db_path"] = args.db
    if args.public_base_url:
        overrides["public_base_url"] = args.public_base_url
    if args.reset:
        overrides["seed_on_empty"] = False
    app = create_app(overrides)
    if args.reset:
        with app.app_context():
            from .core.seed import reset_all
            reset_all(seed=True)
        st = app.extensions["sandbox"]
        st.config["seed_on_empty"] = st.initial_config["seed_on_empty"] = True
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.quiet:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    print(f"Procore sandbox on http://{args.host}:{args.port} (db {app.extensions['sandbox'].config['db_path']})",
          file=sys.stderr, flush=True)
    run_simple(args.host, args.port, app, threaded=True, use_reloader=False, use_debugger=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
