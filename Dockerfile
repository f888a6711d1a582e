# The bot in a container: `make image` (or `docker compose build`), then see compose.yaml.
# BASE_IMAGE: any Debian-like image with python3.11 and its venv module, e.g. one made by
# deploy/base-image.sh where Docker Hub cannot be reached. A `wheels/` directory in the build
# context (`make image OFFLINE=1` fills it) is installed from, without the package index.
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    BOT_DATA_DIR=/data

# Exactly the versions in the lock file, hash-checked; `wheels*` copies wheels/ if it exists.
COPY requirements.txt wheels* /tmp/build/
RUN python3 -m venv /opt/venv \
 && if ls /tmp/build/*.whl >/dev/null 2>&1; then \
      pip install --no-index --find-links /tmp/build --require-hashes -r /tmp/build/requirements.txt; \
    else \
      pip install --require-hashes -r /tmp/build/requirements.txt; \
    fi \
 && rm -rf /tmp/build

RUN useradd --system --user-group --uid 10001 --home-dir /app --no-create-home bot \
 && mkdir -p /data \
 && chown bot:bot /data \
 && chmod 700 /data

WORKDIR /app
COPY bot/ bot/
COPY content/ content/
COPY locales/ locales/
RUN python -m compileall -q bot

USER bot
VOLUME ["/data"]
# Fails when the polling loop or the reminder job has not run for a while (bot/ops/health.py).
HEALTHCHECK --interval=30s --timeout=20s --start-period=60s --retries=3 \
  CMD ["python", "-m", "bot", "health"]
# python-telegram-bot stops polling, finishes the updates in hand and flushes the store on
# SIGTERM; give `docker stop` 10 s (its default) or more.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot", "serve"]
