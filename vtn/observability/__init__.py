"""Seeing the VTN run: Prometheus metrics, the access log, health and readiness probes.

`state.Observability` is built by the app factory (one per application, no module-level registry);
`http.observe` is the outermost middleware; `health` serves /health, /ready and /metrics, also on a
plain listener of their own (`health_port`); `contacts` records which clients called, in batches.
"""
