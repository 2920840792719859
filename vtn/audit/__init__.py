"""The audit log (our extension): who changed what, when, from where; refused logins (docs/security.md).

Written in the transaction of each change (vtn/storage/audit.py): BL writes through the JSON APIs
(by the write path, `Core.write(..., origin)` given the request's `record.origin`), operator changes
of clients (`vtn clients ...`), and refused logins (vtn/auth/login.py). Read by BL at
`GET {base}/audit` (vtn/handlers/audit.py), purged after `audit_retention_days` (vtn/audit/retention.py).
"""
