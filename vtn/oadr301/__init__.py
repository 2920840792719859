"""OpenADR 3.0.1 API, served beside 3.1.0 as a translation layer over the same services and store.

`routes.add_routes(app)` mounts it under /openadr3/3.0.1. Modules: targets (valuesMap <-> string
mapping), schema (3.0.1 request validation), inbound / outbound (document translation), handlers and
vens (HTTP), auth (token endpoint), notifications (3.0.1 notification bodies).
"""
