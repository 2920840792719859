"""Codecs: bytes on the wire <-> typed models in shared.models."""
