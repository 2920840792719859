"""String enumerations of the OpenADR 3.1 wire vocabulary."""

from __future__ import annotations

from enum import StrEnum


class ObjectType(StrEnum):
    PROGRAM = "PROGRAM"
    EVENT = "EVENT"
    REPORT = "REPORT"
    SUBSCRIPTION = "SUBSCRIPTION"
    VEN = "VEN"
    RESOURCE = "RESOURCE"


class Operation(StrEnum):
    READ = "READ"
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"

    @classmethod
    def parse(cls, value: str) -> Operation:
        """Accept the 3.1 names and the 3.0 HTTP verbs that deployed clients still send."""
        return cls(_VERB_ALIASES.get(value, value))


_VERB_ALIASES = {"GET": "READ", "POST": "CREATE", "PUT": "UPDATE", "DELETE": "DELETE"}


class Role(StrEnum):
    BL = "bl"
    VEN = "ven"


class OperatorRole(StrEnum):
    """What a console operator (a person, not an OAuth client) may do; each role includes the one before."""

    VIEWER = "viewer"  # reads every page
    OPERATOR = "operator"  # also creates, edits and cancels events, retries deliveries
    ADMIN = "admin"  # also manages OAuth clients

    @property
    def rank(self) -> int:
        return list(OperatorRole).index(self)


class Scope(StrEnum):
    READ_ALL = "read_all"
    READ_TARGETS = "read_targets"
    READ_VEN_OBJECTS = "read_ven_objects"
    READ_BL = "read_bl"
    WRITE_PROGRAMS = "write_programs"
    WRITE_EVENTS = "write_events"
    WRITE_REPORTS = "write_reports"
    WRITE_SUBSCRIPTIONS = "write_subscriptions"
    WRITE_VENS = "write_vens"


ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.BL: frozenset(
        {
            Scope.READ_ALL,
            Scope.READ_BL,
            Scope.READ_TARGETS,
            Scope.READ_VEN_OBJECTS,
            Scope.WRITE_PROGRAMS,
            Scope.WRITE_EVENTS,
            Scope.WRITE_REPORTS,
            Scope.WRITE_SUBSCRIPTIONS,
            Scope.WRITE_VENS,
        }
    ),
    Role.VEN: frozenset(
        {
            Scope.READ_TARGETS,
            Scope.READ_VEN_OBJECTS,
            Scope.WRITE_REPORTS,
            Scope.WRITE_SUBSCRIPTIONS,
            Scope.WRITE_VENS,
        }
    ),
}


class ReportIntervals(StrEnum):
    INTERVALS = "INTERVALS"
    SUB_INTERVALS = "SUB_INTERVALS"
    OPEN_INTERVALS = "OPEN_INTERVALS"
