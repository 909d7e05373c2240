"""The server configuration file (global, storage, scrape_configs, rule_files, ...)."""

from sloguard.config._load import ConfigError, key_path, load_config, parse_config
from sloguard.config._model import (
    Config,
    FsyncPolicy,
    RemoteWriteReceiverSettings,
    StorageSettings,
    TSDBSettings,
)
from sloguard.config._units import format_duration, parse_bytes, parse_duration
from sloguard.ingest.scrape_config import GlobalConfig

__all__ = [
    "Config",
    "ConfigError",
    "FsyncPolicy",
    "GlobalConfig",
    "RemoteWriteReceiverSettings",
    "StorageSettings",
    "TSDBSettings",
    "format_duration",
    "key_path",
    "load_config",
    "parse_bytes",
    "parse_config",
    "parse_duration",
]
