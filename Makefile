# Two commands: `make run` (the bot; the local sandbox when BOT_TOKEN is unset) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: run test lint translations bench site

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

run: $(VENV)/.installed
	$(PY) -m bot

test: $(VENV)/.installed
	$(VENV)/bin/ruff check bot tests bench
	$(PY) -m bot content check
	$(PY) -m pytest -q -m "not slow" -p no:cacheprovider

site: $(VENV)/.installed
	$(PY) -m bot site build --out public

translations: $(VENV)/.installed
	$(VENV)/bin/pybabel extract -F babel.cfg -k N_ -k gettext -k ngettext:1,2 --no-location --sort-output --omit-header -o locales/bot.pot .
	$(VENV)/bin/pybabel update -D bot -i locales/bot.pot -d locales --no-fuzzy-matching --ignore-obsolete
