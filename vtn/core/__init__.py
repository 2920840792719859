"""The VTN core, between the front-ends (3.1, 3.0.1, 2.0b, ...) and storage.

- `core.Core`: the one write path (group commit, change stamps, notifications, cascades, cache
  invalidation, worker wake) and the read entry.
- `visibility`: the one visibility rule (caller + requested targets -> a `Permission` that the
  repositories apply in SQL).
- `ids`: the one rule for ids a client chooses on POST (BL's kept, a VEN's a key scoped to it).
- `state`: the application state every front-end reaches through the request.
- `queries`: the query types front-ends fill in (filters, pages, `Tx`), so they need not reach
  storage; `oadr20b_records` and `stamps` the same for the 2.0b front-end's records and poll cache.

See docs/architecture.md. Modules are imported by name (this package imports nothing on load, so
that services may use the visibility rule without an import cycle).
"""
