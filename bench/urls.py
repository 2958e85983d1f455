"""The site's URLs plus the baseline page, in the style of TechEmpower's "fortunes" test.

The baseline is one query over a 12-row table (``bench_fortune``, created by
bench/run.py, not a model of the application), one fortune added at request
time, sorted by message, rendered by a small Django template with escaping. It
goes through the same middleware as every page, so the ratio of a page's
requests/s to the baseline's shows what the page itself costs.
"""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path
from django.views.decorators.http import require_safe

from site_config.urls import handler403, handler404, handler500

FORTUNES_TABLE = "bench_fortune"
FORTUNES_PATH = "bench/fortunes/"
TEMPLATE = engines["django"].from_string(
    "<!doctype html><html><head><title>Fortunes</title></head><body><table>"
    "<tr><th>id</th><th>message</th></tr>"
    "{% for id, message in fortunes %}<tr><td>{{ id }}</td><td>{{ message }}</td></tr>"
    "{% endfor %}</table></body></html>"
)


@require_safe
def fortunes(request: HttpRequest) -> HttpResponse:
    """Every fortune plus one added now, sorted by message."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, message FROM {FORTUNES_TABLE}")
        rows = cursor.fetchall()
    rows.append((0, "Additional fortune added at request time."))
    rows.sort(key=lambda row: row[1])
    return HttpResponse(TEMPLATE.render({"fortunes": rows}))


urlpatterns = [
    path(FORTUNES_PATH, fortunes, name="bench_fortunes"),
    path("", include("site_config.urls")),
]

__all__ = ["handler403", "handler404", "handler500", "urlpatterns"]
