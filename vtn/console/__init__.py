"""The operator console at /console/: a server-rendered front-end (aiohttp + Jinja2) on the VTN core.

Operators are people (vtn/storage/operators.py), not OAuth clients: they log in with a password,
hold a session cookie and act as BL through the core's write path, so every change notifies
subscribers like an API write. Modules: `app` (routes, static assets), `auth` (login, sessions,
CSRF, roles, lockout), `view` (templates), `audit` (the hook every console change goes through),
`event_form` (the event form <-> the eventRequest schema), and the pages by area (`pages_*`).
"""
