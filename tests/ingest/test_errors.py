"""Every ingest error derives from the package's one base, ``IngestError``."""

from __future__ import annotations

import pytest

from sloguard.ingest import ExpositionError, IngestError
from sloguard.ingest._exposition_series import SeriesSyntaxError
from sloguard.ingest._remote_write_decode import RemoteWriteError
from sloguard.ingest._scrape_http import ScrapeError
from sloguard.ingest._scrape_target import TargetError
from sloguard.ingest.backfill import BackfillError
from sloguard.ingest.scrape_config import ScrapeConfigError


@pytest.mark.parametrize(
    "cls", [ExpositionError, SeriesSyntaxError, RemoteWriteError, ScrapeError, TargetError, BackfillError, ScrapeConfigError]
)
def test_ingest_errors_share_the_package_base(cls: type[Exception]) -> None:
    assert issubclass(cls, IngestError)


@pytest.mark.parametrize("cls", [ExpositionError, SeriesSyntaxError, TargetError, ScrapeConfigError])
def test_input_errors_stay_value_errors(cls: type[Exception]) -> None:
    assert issubclass(cls, ValueError)


def test_a_bad_exposition_raises_an_ingest_error() -> None:
    from sloguard.ingest import parse

    with pytest.raises(IngestError):
        parse(b"metric{ 1\n", "text/plain")
