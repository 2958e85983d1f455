"""gunicorn settings for ProDev Hub, all taken from the environment.

``gunicorn site_config.wsgi -c gunicorn.conf.py`` (the Procfile's ``web`` line)
reads this file. Every number goes through ``site_config.env`` so a typo such as
``WEB_CONCURRENCY=four`` stops the server at start-up with a message naming the
variable, instead of silently running with a default.

PORT               port to listen on, all interfaces (default 8000)
WEB_CONCURRENCY    worker processes (default 2)
GUNICORN_THREADS   threads per worker (default 4)
GUNICORN_TIMEOUT   seconds before a silent worker is restarted (default 30)
FORWARDED_ALLOW_IPS  proxies trusted for X-Forwarded-* headers (gunicorn's
                   default, 127.0.0.1 and ::1, when unset)
"""

from __future__ import annotations

from site_config.env import envint, envstr

bind: list[str] = [f"0.0.0.0:{envint('PORT', 8000, minimum=1)}"]

# Threaded workers: requests wait on PostgreSQL and Redis far more than on the CPU.
worker_class: str = "gthread"
workers: int = envint("WEB_CONCURRENCY", 2, minimum=1)
threads: int = envint("GUNICORN_THREADS", 4, minimum=1)
timeout: int = envint("GUNICORN_TIMEOUT", 30, minimum=1)
graceful_timeout: int = timeout
keepalive: int = 5

# Logs go to the container's stdout/stderr; the platform collects them.
accesslog: str = "-"
errorlog: str = "-"
loglevel: str = envstr("GUNICORN_LOG_LEVEL", "info")

# Only override gunicorn's default (local proxies only) when the platform says so.
if envstr("FORWARDED_ALLOW_IPS"):
    forwarded_allow_ips: str = envstr("FORWARDED_ALLOW_IPS")
