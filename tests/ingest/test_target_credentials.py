"""Targets written as ``user:password@host``: refused at config load (the password would show
in the ``instance`` label and ``/api/v1/targets``), and never scraped when relabeling makes one."""

from __future__ import annotations

import pytest

from sloguard.config import ConfigError, parse_config
from sloguard.ingest._scrape_target import targets_from_config
from sloguard.ingest.scrape_config import ScrapeConfig, redact_userinfo, resolve


def test_a_static_target_with_credentials_is_refused_without_echoing_the_password() -> None:
    text = "scrape_configs: [{job_name: x, static_configs: [{targets: ['bob:hunter2@127.0.0.1:9100']}]}]\n"
    with pytest.raises(ConfigError) as e:
        parse_config(text, "sloguard.yml")
    msg = str(e.value)
    assert "sloguard.yml" in msg and "static_configs[0].targets" in msg
    assert '"<credentials>@127.0.0.1:9100" contains credentials' in msg and "basic_auth" in msg
    assert "hunter2" not in msg and "bob" not in msg


def test_an_address_made_by_relabeling_with_credentials_is_dropped_redacted() -> None:
    sc = resolve(ScrapeConfig.model_validate({
        "job_name": "x",
        "static_configs": [{"targets": ["h:1"], "labels": {"__tmp_creds": "bob:hunter2@h:1"}}],
        "relabel_configs": [{"source_labels": ["__tmp_creds"], "target_label": "__address__"}],
    }))
    active, dropped = targets_from_config(sc)
    assert active == []
    ((_, reason),) = dropped
    assert reason == 'target "<credentials>@h:1" contains credentials (user:password@)'


def test_redact_userinfo_keeps_the_host() -> None:
    assert redact_userinfo("a:b@c@h:1") == "<credentials>@h:1"
    assert redact_userinfo("h:1") == "h:1"
