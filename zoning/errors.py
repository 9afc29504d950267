"""Exception hierarchy.

Every error a user can cause is a :class:`ZoningError` carrying a Chinese and an English
message; the CLI prints both on one line and exits with code 2. The subclasses mix in the
matching builtin so callers can also catch ``ValueError``, ``FileNotFoundError`` etc.
"""
from __future__ import annotations


class ZoningError(Exception):
    """Root of all zoning errors. ``zh`` and ``en`` say what is wrong and how to fix it."""

    exit_code = 2

    def __init__(self, zh: str, en: str | None = None):
        self.zh = zh
        self.en = en if en is not None else zh
        super().__init__(self.en)

    #: longest part of a message shown without --debug (characters; a 300-digit coordinate or a
    #: whole SQL statement must not flood the terminal)
    MAX_PART = 140

    def one_line(self, *, full: bool = False) -> str:
        """``错误：… | Error: …`` on one line, control characters escaped; each half capped at
        :attr:`MAX_PART` characters unless ``full`` (the CLI's ``--debug``)."""
        from zoning.escape import terminal_text

        def part(text: str) -> str:
            text = " ".join(terminal_text(text).split())
            return text if full or len(text) <= self.MAX_PART else text[: self.MAX_PART - 1] + "…"

        return f"错误：{part(self.zh)} | Error: {part(self.en)}"


class InputFileNotFound(ZoningError, FileNotFoundError):
    """An input file or folder does not exist."""


class UnreadableInput(ZoningError, ValueError):
    """A file exists but cannot be parsed (format, columns, values)."""


class EncodingProblem(ZoningError, UnicodeError):
    """Attribute text cannot be decoded with the declared or detected encoding."""


class CRSProblem(ZoningError, ValueError):
    """Missing, ambiguous or implausible coordinate reference system."""


class SiteError(ZoningError, ValueError):
    """A project site is unusable: empty, degenerate, unrepairable or out of area."""


class CatalogError(ZoningError, ValueError):
    """The layer catalog is malformed or names something that does not exist."""


class LayerError(ZoningError, ValueError):
    """A layer could not be loaded or does not satisfy its role's requirements."""


class RulePackError(ZoningError, ValueError):
    """A rule pack is invalid (schema, unknown fields, duplicate ids ...)."""


class RuleValueProblem(RulePackError):
    """One invalid value inside a rule's condition (collected by rule pack validation and
    reported with the rule's id and line)."""


class AttributeProblem(ZoningError, ValueError):
    """A project attribute is unknown or has an invalid value."""


class OutputExists(ZoningError, FileExistsError):
    """An output would overwrite an existing file without --overwrite."""


class OutputProblem(ZoningError, OSError):
    """An output location cannot be written."""


class CarbonError(ZoningError, ValueError):
    """A carbon raster or request cannot be used as given."""


class ProgramError(ZoningError, ValueError):
    """A programme input (schedule, quota, parameter) is invalid."""


class ExportError(ZoningError, ValueError):
    """An export request cannot be carried out as given."""


class DaskUnavailable(ZoningError, RuntimeError):
    """Dask (dask-geopandas, distributed) is not installed or the scheduler cannot be reached."""


class OfflineViolation(ZoningError, RuntimeError):
    """A generated page would load something from the network (a bug or a hostile input, never allowed)."""

    exit_code = 3

    def __init__(self, zh: str, en: str | None = None):
        super().__init__(zh, en)


# --- the service (zoning serve): request problems, mapped to 4xx JSON in zoning/service/errors.py
class RequestProblem(ZoningError, ValueError):
    """A request to the service is malformed: not JSON, a missing or wrongly typed member."""


class UploadTooLarge(ZoningError, ValueError):
    """An upload exceeds a limit: bytes, unpacked bytes (zip bomb), files, sites or vertices."""


class UnsafeUpload(ZoningError, ValueError):
    """An upload is refused for safety: ``../`` or absolute archive entries, links, nested archives."""


class NotFound(ZoningError, LookupError):
    """A screening, job or file the service was asked for does not exist (or has expired)."""


class AuthRequired(ZoningError, PermissionError):
    """The service needs its bearer token and none (or a wrong one) was given."""


class HistoryError(ZoningError, RuntimeError):
    """The history database cannot be opened, migrated or written."""


class JobFailed(ZoningError, RuntimeError):
    """The files of a batch job that failed (or was interrupted) were asked for: there are none."""


class ServiceStartError(ZoningError, OSError):
    """``zoning serve`` cannot start: its port is taken, its address or work folder unusable."""


class OutsideLayers(SiteError):
    """A site lies wholly outside the area the layer set covers: nothing can be screened there."""


class ClauseLibraryError(ZoningError, ValueError):
    """A clause library (生态环境准入清单条款库) that cannot be used."""
