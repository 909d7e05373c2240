"""The server configuration file (global, storage, scrape_configs, rule_files, ...)."""

from sloguard.config._load import ConfigError, key_path, load_config, parse_config
from sloguard.config._model import (
    Config,
    FsyncPolicy,
    GlobalSettings,
    RemoteWriteReceiverSettings,
    StorageSettings,
    TSDBSettings,
)
from sloguard.config._units import format_duration, parse_bytes, parse_duration

__all__ = [
    "Config",
    "ConfigError",
    "FsyncPolicy",
    "GlobalSettings",
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
