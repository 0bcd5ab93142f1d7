"""Proofboard's own exception classes.

Errors stop a load or a command and carry a message that names where the problem is
(file or table, column, row) and how to fix it. Statistical caveats are never raised:
analyses return them as part of their result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from analytics.quality import QualityReport


class ProofboardError(Exception):
    """Base class of every error Proofboard raises on purpose."""


class InputError(ProofboardError, ValueError):
    """An argument, setting or value given to Proofboard is out of range or of the wrong kind
    (a window of 0 days, an unknown period, a column that is not numbers); the message names it
    and how to fix it. Also a ``ValueError``, so code that catches that keeps working."""


class DataSourceError(ProofboardError):
    """The data source cannot be opened or written: a missing folder, a bad URL, a refused
    connection, an ambiguous file layout."""


class DataContractError(ProofboardError):
    """The data breaks the community data contract; ``report`` holds every error found."""

    def __init__(self, report: QualityReport) -> None:
        self.report = report
        errors = report.errors
        first = errors[0].text() if errors else "unknown problem"
        more = f" (and {len(errors) - 1} more error(s))" if len(errors) > 1 else ""
        super().__init__(f"{first}{more}")


class LeakageError(ProofboardError):
    """A predictive feature was about to be computed from rows after its cutoff time (information
    from the future); the analysis stops instead of producing an optimistic model."""
