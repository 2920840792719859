"""Storage of the 2.0b profile: its side tables, their typed records and their repository.

The 3.1 objects stay the source of truth (a 2.0b VEN *is* a ven object); these tables only hold
what 2.0b adds. The 2.0b front-end (vtn/oadr20b) reaches them through `Tx.oadr20b()`.
"""
