# cbox-procore: the commands a newcomer needs (see README.md).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
MO     := portal/translations/es/LC_MESSAGES/messages.mo portal/translations/en/LC_MESSAGES/messages.mo
PYTEST_ARGS ?=
# Test files spread over one pytest-xdist process per core, 8 at most (each with its own database, Redis and
# folders: tests/conftest.py). `make test PYTEST_XDIST=` runs them in one process.
PYTEST_XDIST ?= -n auto --maxprocesses 8 --dist loadfile

.PHONY: run web worker sandbox test test-browser lint translations extract-messages clean help

help:
	@echo "make run           portal + worker + embedded Redis + Procore sandbox, demo data"
	@echo "make test          the full test suite, one pytest-xdist process per core (PYTEST_XDIST= for one)"
	@echo "make test-browser  only the browser (Playwright + Debian chromium) tests"
	@echo "make web | worker  one piece alone, configured from the environment (production style)"
	@echo "make sandbox       the local Procore sandbox alone on :8765"

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

portal/translations/%/LC_MESSAGES/messages.mo: portal/translations/%/LC_MESSAGES/messages.po $(STAMP)
	$(VENV)/bin/pybabel compile --use-fuzzy -d portal/translations -l $* >/dev/null

translations: $(MO)

extract-messages: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ -o portal/translations/messages.pot .
	$(VENV)/bin/pybabel update -i portal/translations/messages.pot -d portal/translations --no-fuzzy-matching --ignore-obsolete

run: $(STAMP) $(MO)
	$(PY) scripts/run_dev.py

web: $(STAMP) $(MO)
	$(VENV)/bin/flask --app portal:create_app db upgrade heads
	$(VENV)/bin/gunicorn --bind 0.0.0.0:$${PORT:-5000} --workers $${WEB_WORKERS:-2} --threads 4 wsgi:app

worker: $(STAMP) $(MO)
	$(PY) worker.py

sandbox: $(STAMP)
	$(PY) -m sandbox --port $${SANDBOX_PORT:-8765}

test: $(STAMP) $(MO)
	$(VENV)/bin/pytest $(PYTEST_XDIST) $(PYTEST_ARGS)

test-browser: $(STAMP) $(MO)
	$(VENV)/bin/pytest $(PYTEST_XDIST) -m browser $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) instance test-artifacts .pytest_cache
