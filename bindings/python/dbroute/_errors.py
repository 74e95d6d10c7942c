"""Exceptions: a PEP 249 hierarchy carrying dbroute's error details."""

from ._native import ffi, lib

# The name of each status, as Error.category gives it.
CATEGORIES = {
    lib.DBR_E_CONN: "conn",
    lib.DBR_E_STMT: "stmt",
    lib.DBR_E_CONSTRAINT: "constraint",
    lib.DBR_E_TIMEOUT: "timeout",
    lib.DBR_E_CONFIG: "config",
    lib.DBR_E_NOMEM: "nomem",
    lib.DBR_E_MISUSE: "misuse",
    lib.DBR_E_UNSUPPORTED: "unsupported",
    lib.DBR_E_ABI: "abi",
    lib.DBR_E_READONLY: "readonly",
    lib.DBR_E_NOTFOUND: "notfound",
    lib.DBR_E_UNAVAILABLE: "unavailable",
    lib.DBR_E_RESOURCE: "resource",
    lib.DBR_E_NOTLOADED: "notloaded",
    lib.DBR_E_STALE: "stale",
    lib.DBR_E_MOVING: "moving",
}


class Warning(Exception):  # noqa: A001 (PEP 249 names it so)
    """PEP 249's Warning; dbroute raises none today."""


class Error(Exception):
    """Every error dbroute raises.

    Attributes: code (the C library's enum dbr_status, an int), category
    (its short name: "conn", "constraint", ...; see CATEGORIES), source
    (the source involved, or None), sqlstate (or None), native_code (the
    driver's own code, or 0), retryable (a transient failure: see
    dbroute.h on what a retry risks), hint (what to do, or ""), truncated
    (the message was cut to fit) and message (the library's text).
    """

    def __init__(self, message, code=None, source=None, sqlstate=None,
                 native_code=0, retryable=False, hint="", truncated=False):
        super().__init__(message)
        self.message = message
        self.code = code
        self.source = source
        self.sqlstate = sqlstate
        self.native_code = native_code
        self.retryable = retryable
        self.hint = hint
        self.truncated = truncated

    @property
    def category(self):
        return CATEGORIES.get(self.code)

    def __str__(self):
        if self.source and "'%s'" % self.source not in self.message:
            return "source '%s': %s" % (self.source, self.message)
        return self.message


class InterfaceError(Error):
    """The binding or the library was used wrongly, or cannot load."""


class DatabaseError(Error):
    """An error of a data source or of routing."""


class DataError(DatabaseError):
    """A value that cannot be passed or read (range, encoding)."""


class OperationalError(DatabaseError):
    """Connection lost or refused, timeout, source unavailable, out of
    memory or of a local resource: usually not the program's fault."""


class IntegrityError(DatabaseError):
    """A constraint (unique, foreign key, check) failed."""


class InternalError(DatabaseError):
    """PEP 249's InternalError; dbroute raises none today."""


class ProgrammingError(DatabaseError):
    """A statement failed, or the API was misused: bad SQL, an unknown
    source or scope, a write on a read-only source, a closed object."""


class NotSupportedError(DatabaseError):
    """The source's driver cannot do this (e.g. a transaction on Redis),
    or the library has no such feature (named parameters)."""


class ConfigError(InterfaceError):
    """The configuration file is invalid (every problem, one per line, as
    FILE:LINE: message), or a driver it names is missing or refused."""


# Which exception each status raises (the README has the same table).
CLASSES = {
    lib.DBR_E_CONN: OperationalError,
    lib.DBR_E_STMT: ProgrammingError,
    lib.DBR_E_CONSTRAINT: IntegrityError,
    lib.DBR_E_TIMEOUT: OperationalError,
    lib.DBR_E_CONFIG: ConfigError,
    lib.DBR_E_NOMEM: OperationalError,
    lib.DBR_E_MISUSE: ProgrammingError,
    lib.DBR_E_UNSUPPORTED: NotSupportedError,
    lib.DBR_E_ABI: InterfaceError,
    lib.DBR_E_READONLY: ProgrammingError,
    lib.DBR_E_NOTFOUND: ProgrammingError,
    lib.DBR_E_UNAVAILABLE: OperationalError,
    lib.DBR_E_RESOURCE: OperationalError,
    lib.DBR_E_NOTLOADED: OperationalError,
    lib.DBR_E_STALE: OperationalError,
    lib.DBR_E_MOVING: OperationalError,
}


def _text(chars):
    return ffi.string(chars).decode("utf-8", "replace")


def from_struct(e):
    """The exception for a filled struct dbr_error (a cdata pointer)."""
    code = e.code
    hint = _text(e.hint) if e.hint != ffi.NULL else ""
    cls = CLASSES.get(code, DatabaseError)
    return cls(_text(e.message), code=code, source=_text(e.source) or None,
               sqlstate=_text(e.sqlstate) or None,
               native_code=e.native_code, retryable=bool(e.retryable),
               hint=hint, truncated=bool(e.truncated))


def misuse(message):
    """A ProgrammingError of the binding's own, as DBR_E_MISUSE."""
    return ProgrammingError(message, code=lib.DBR_E_MISUSE)


# Show the classes as dbroute.X (their public home), not dbroute._errors.X.
for _cls in (Warning, Error, InterfaceError, DatabaseError, DataError,
             OperationalError, IntegrityError, InternalError,
             ProgrammingError, NotSupportedError, ConfigError):
    _cls.__module__ = "dbroute"
