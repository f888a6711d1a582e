# Two commands: `make run` (the bot; the local sandbox when BOT_TOKEN is unset) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: run test lint translations untranslated bench lock image smoke site

# Installs exactly the versions in the lock files (hash-checked), then the bot itself.
$(VENV)/.installed: requirements.txt requirements-test.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "Python 3.11 or newer is needed: $(PYTHON) is $$($(PYTHON) --version 2>&1)"; \
	    echo "(set PYTHON=python3.11, or see .python-version)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements-test.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

run: $(VENV)/.installed
	$(PY) -m bot

test: $(VENV)/.installed
	$(VENV)/bin/ruff check bot emulator tests bench scripts
	$(VENV)/bin/ruff format --check bot emulator tests bench scripts
	$(VENV)/bin/mypy
	$(PY) -m bot content check
	$(PY) -m pytest -q -m "not slow" -p no:cacheprovider -n 2

site: $(VENV)/.installed
	$(PY) -m bot site build --out public

# After `make translations`: every entry still untranslated or fuzzy, per language (translate
# those in locales/<lang>/LC_MESSAGES/bot.po; the tests fail until none is left).
untranslated: $(VENV)/.installed
	$(PY) -m bot.i18n

translations: $(VENV)/.installed
	$(VENV)/bin/pybabel extract -F babel.cfg -k N_ -k gettext -k ngettext:1,2 --no-location --sort-output --omit-header -o locales/bot.pot .
	$(VENV)/bin/pybabel update -D bot -i locales/bot.pot -d locales --no-fuzzy-matching --ignore-obsolete

# After changing dependencies in pyproject.toml: re-pin both lock files (needs uv: pip install uv).
UV ?= uv
lock:
	$(UV) pip compile pyproject.toml --generate-hashes --universal --python-version 3.11 \
	  --custom-compile-command "make lock" -o requirements.txt
	$(UV) pip compile pyproject.toml --extra test --generate-hashes --universal \
	  --python-version 3.11 -c requirements.txt --custom-compile-command "make lock" \
	  -o requirements-test.txt

# The container image, from the lock file. OFFLINE=1: wheels are fetched here (pip wheel) and the
# build installs only from them, for builders that cannot reach the package index; BASE_IMAGE
# then names a local image with python3.11 (deploy/base-image.sh makes one with debootstrap).
IMAGE ?= zhanaozen-bot:latest
BASE_IMAGE ?= python:3.11-slim-bookworm
image:
	rm -rf wheels
ifeq ($(OFFLINE),1)
	$(PYTHON) -m pip wheel --quiet --require-hashes -r requirements.txt -w wheels
endif
	docker build --build-arg BASE_IMAGE=$(BASE_IMAGE) -t $(IMAGE) .

# The deploy smoke test: the image against the local Bot API emulator (deploy/smoke_test.py).
# With no Docker Hub, build on a debootstrapped base: make smoke BASE_IMAGE=zhanaozen-base:bookworm OFFLINE=1
smoke: $(VENV)/.installed image
	$(PY) deploy/smoke_test.py --image $(IMAGE)
