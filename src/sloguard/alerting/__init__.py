"""Alertmanager-compatible alerting: configuration, routing tree (the pipeline comes later).

``load_config`` reads Alertmanager 0.25's YAML unchanged; ``build_route`` turns its ``route``
tree into ``Route`` nodes whose ``match(labels)`` gives the routes an alert goes to.
"""

from sloguard.alerting._dump import dump_config
from sloguard.alerting._email import EmailConfig
from sloguard.alerting._errors import AlertingConfigError, ConfigProblem
from sloguard.alerting._global import GlobalConfig
from sloguard.alerting._matchers import (
    MatcherParseError,
    format_matchers,
    matches_all,
    parse_matcher,
    parse_matchers,
    sort_matchers,
)
from sloguard.alerting._receivers import PagerdutyConfig, Receiver, WebhookConfig
from sloguard.alerting._routecfg import InhibitRule, RouteConfig
from sloguard.alerting._slack import SlackConfig
from sloguard.alerting.config import (
    AlertmanagerConfig,
    TimeIntervalSpecs,
    load_config,
    parse_config,
)
from sloguard.alerting.route import Route, RouteOpts, build_route
from sloguard.httpclient import (
    HTTPConfig,
    HTTPConfigError,
    OAuth2Config,
    Secret,
    TLSConfig,
    http_client,
)

__all__ = [
    "AlertingConfigError",
    "AlertmanagerConfig",
    "ConfigProblem",
    "EmailConfig",
    "GlobalConfig",
    "HTTPConfig",
    "HTTPConfigError",
    "InhibitRule",
    "MatcherParseError",
    "OAuth2Config",
    "PagerdutyConfig",
    "Receiver",
    "Route",
    "RouteConfig",
    "RouteOpts",
    "Secret",
    "SlackConfig",
    "TLSConfig",
    "TimeIntervalSpecs",
    "WebhookConfig",
    "build_route",
    "dump_config",
    "format_matchers",
    "http_client",
    "load_config",
    "matches_all",
    "parse_config",
    "parse_matcher",
    "parse_matchers",
    "sort_matchers",
]
