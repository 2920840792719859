"""Verification of an event: baseline, actual and delivered change per resource, VEN and area.

`baseline` (pure): the customer baseline methods; `figures` (pure): the per-hour arithmetic;
`collect`: reads the event, its participants and their reports through the core; `render`: table,
CSV and JSON. See docs/programs.md for the method and a worked example.
"""
