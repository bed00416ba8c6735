"""Prometheus metrics, served on ``GET /metrics``: each module measures one thing, ``registry.py`` puts
one server's together. Counters and histograms are kept in memory where things happen; gauges of what
the store holds are read from it when scraped."""
