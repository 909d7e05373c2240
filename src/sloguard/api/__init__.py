"""HTTP APIs: Prometheus-compatible endpoints, remote write, operational endpoints."""
