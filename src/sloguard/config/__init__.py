"""The server configuration file (global, storage, scrape_configs, rule_files, ...)."""

from sloguard.config._load import ConfigError, key_path, load_config, parse_config
from sloguard.config._model import (
    AlertingSettings,
    AlertmanagerConfig,
    ClusterSettings,
    Config,
    FsyncPolicy,
    QuerySettings,
    RemoteWriteReceiverSettings,
    ServerMode,
    StateSettings,
    StorageSettings,
    TSDBSettings,
)
from sloguard.ingest.scrape_config import GlobalConfig, format_duration, parse_duration

__all__ = [
    "AlertingSettings",
    "AlertmanagerConfig",
    "ClusterSettings",
    "Config",
    "ConfigError",
    "FsyncPolicy",
    "GlobalConfig",
    "QuerySettings",
    "StateSettings",
    "RemoteWriteReceiverSettings",
    "ServerMode",
    "StorageSettings",
    "TSDBSettings",
    "format_duration",
    "key_path",
    "load_config",
    "parse_config",
    "parse_duration",
]
