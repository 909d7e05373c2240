# sloguard's container image: `docker build -t sloguard:0.1.0 .` at the repository root.
# Two stages: the first installs sloguard from this source tree (`pip install .`) into a
# virtual environment, the second copies that environment onto a clean slim base. The
# server runs as the non-root user 10001 (numeric, so Kubernetes' runAsNonRoot can check
# it), keeps its TSDB, WAL and SQLite state under the volume /var/lib/sloguard, and reads
# /etc/sloguard/sloguard.yml (the bundled example config until one is mounted there).
# tests/deploy/test_dockerfile.py checks this file against sloguard's own CLI and config loader.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m venv /opt/sloguard \
 && /opt/sloguard/bin/pip install --upgrade pip \
 && /opt/sloguard/bin/pip install .

FROM python:3.11-slim-bookworm
ENV PATH=/opt/sloguard/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN groupadd --system --gid 10001 sloguard \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/sloguard --no-create-home \
        --shell /usr/sbin/nologin sloguard \
 && mkdir -p /var/lib/sloguard /etc/sloguard/slos \
 && chown 10001:10001 /var/lib/sloguard
COPY --from=build /opt/sloguard /opt/sloguard
COPY src/sloguard/examples/sloguard.yml /etc/sloguard/sloguard.yml
COPY src/sloguard/examples/slos/ /etc/sloguard/slos/

USER 10001:10001
WORKDIR /var/lib/sloguard
VOLUME ["/var/lib/sloguard"]
EXPOSE 9090
# python:*-slim has neither curl nor wget; urlopen raises (exit 1) on a 503 or no answer.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9090/-/ready', timeout=4)"]
ENTRYPOINT ["sloguard"]
CMD ["serve", "--config", "/etc/sloguard/sloguard.yml", "--data-dir", "/var/lib/sloguard", "--listen", "0.0.0.0:9090"]
