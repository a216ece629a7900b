"""A bare Django + DRF + django-oauth-toolkit project: the baseline of ``benchmarks/throughput.py``.

One endpoint, ``POST /submissions``: OAuth2 bearer token authentication (django-oauth-toolkit's
``OAuth2Authentication``, a scope checked with ``TokenHasScope``), one serializer that validates a small body,
and one INSERT in a transaction. Nothing else: this is what the gateway's hot path is compared with.

Run by the benchmark under gunicorn as ``gunicorn benchmarks.baseline.wsgi`` with
``DJANGO_SETTINGS_MODULE=benchmarks.baseline.settings`` and ``BASELINE_DATABASE_URL`` (its own PostgreSQL
database).
"""
