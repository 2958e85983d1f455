# ProDev Hub production image: gunicorn serving Django, static files by WhiteNoise.
#   docker build -t prodev-hub .
#   docker run --env-file .env -p 8000:8000 prodev-hub
# The same image runs every Procfile process; override the command for the others:
#   release: python manage.py migrate --noinput
#   worker:  python manage.py db_worker   (needs TASKS_BACKEND=database)

# --- builder: the pinned runtime dependencies in a self-contained virtualenv ---
FROM python:3.13.5-slim-bookworm AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

# Every runtime dependency ships a wheel (psycopg2-binary included): no compiler, no apt-get.
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt

# --- final: the virtualenv and the application, run as an unprivileged user ---
FROM python:3.13.5-slim-bookworm

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORT=8000

RUN groupadd --system --gid 10001 prodev \
    && useradd --system --uid 10001 --gid prodev --no-create-home --home-dir /app \
       --shell /usr/sbin/nologin prodev

WORKDIR /app
COPY --from=builder /opt/venv /opt/venv
# Code stays owned by root, read-only for the app user.
COPY . .

# Hash and compress the static files once, at build time. These variables exist
# only for this command: the settings refuse DEBUG=false without a SECRET_KEY
# and a REDIS_URL, and neither is used by collectstatic. Real values come at run time.
RUN DEBUG=false \
    SECRET_KEY=build-only-collectstatic-key-not-used-at-run-time \
    REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/var/media \
    && chown -R prodev:prodev /app/var

USER 10001:10001
EXPOSE 8000

# /healthz answers 200 when the database and the cache both respond. The request
# carries the first ALLOWED_HOSTS entry as its Host header so Django accepts it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; host = os.environ.get('ALLOWED_HOSTS', '').split(',')[0].strip().lstrip('.*') or 'localhost'; u.urlopen(u.Request('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), headers={'Host': host}), timeout=4)"]

CMD ["gunicorn", "site_config.wsgi", "-c", "gunicorn.conf.py"]
