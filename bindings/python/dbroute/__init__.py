"""dbroute: route each database operation to the source its chat is
mapped to (SQLite, PostgreSQL, Redis), from Python.

    import dbroute
    with dbroute.open("bot.ini") as db:
        db.execute(chat, "INSERT INTO messages (chat_id, text) "
                   "VALUES (?, ?)", (chat, text))
        for (text,) in db.execute(chat, "SELECT text FROM messages "
                                  "WHERE chat_id = ?", (chat,)):
            print(text)

See bindings/python/README.md; dbroute.aio has the asyncio interface.
"""

from ._native import ffi as _ffi
from ._native import lib as _lib



def _compatible(header, library):
    """Whether a library of version number `library` serves an extension
    built against dbroute.h `header`: the same major and minor (numbers
    are MAJOR * 1000000 + MINOR * 1000 + PATCH); any patch will do."""
    return header // 1000 == library // 1000


if not _compatible(_lib.DBR_VERSION_NUMBER, _lib.dbr_version_number()):
    raise ImportError(
        "dbroute: the extension was built against dbroute.h %d but loaded "
        "libdbroute %d (another major or minor version): rebuild the "
        "binding" % (_lib.DBR_VERSION_NUMBER, _lib.dbr_version_number()))

from ._db import (Database, Histogram, Result, Route, Source,  # noqa: E402
                  Transaction)
from ._errors import (CATEGORIES, ConfigError, DatabaseError,  # noqa: E402
                      DataError, Error, IntegrityError, InterfaceError,
                      InternalError, NotSupportedError, OperationalError,
                      ProgrammingError, Warning)

__version__ = "0.5.0"

# PEP 249 module globals.
apilevel = "2.0"
threadsafety = 2  # threads may share the module and handles
paramstyle = "qmark"

__all__ = [
    "open", "version", "Database", "Result", "Transaction", "Route",
    "Source", "CATEGORIES", "Error", "Warning", "InterfaceError",
    "DatabaseError", "DataError", "OperationalError", "IntegrityError",
    "InternalError", "ProgrammingError", "NotSupportedError", "ConfigError",
]


def open(config_path):  # noqa: A001 (dbroute.open, as the C dbr_open)
    """Open a handle from an INI configuration file. No connection is made
    yet. Raises ConfigError listing every problem of the file."""
    return Database(config_path)


def version():
    """The loaded libdbroute's version, "MAJOR.MINOR.PATCH"."""
    return _ffi.string(_lib.dbr_version()).decode()
