"""`vtn check-ven`: a scripted test VTN that grades a partner's VEN (docs/interop-kit.md).

It runs our own VTN application in-process on a temporary SQLite store, onboards the VEN (prints
its credentials), publishes events through the core, watches every request the VEN makes
(`watch.py`), injects an outage, and grades what the VEN did (`grade.py`). The script of one run is
a `Scenario` (`scenario.py`); its timing scales with one unit, so tests run it in seconds.
"""
