# syntax=docker/dockerfile:1
# ageband service image: a virtualenv built in one stage, copied into a clean slim runtime.
# Runs as a fixed non-root user (10001, as the Helm chart expects) and writes nothing to its
# root filesystem, so it runs with readOnlyRootFilesystem. Build:
#   docker build -t ageband .
#   docker build --build-arg EXTRAS=tracing,local-estimation -t ageband-local .
# Dependencies come from uv.lock, so every build gets the same versions.
# The default image has the tracing extra (OpenTelemetry, loaded only when tracing is enabled).
# local-estimation installs from wheels on this slim base (amd64 and arm64, no compiler or
# system library needed) but adds about 170 MB (ONNX Runtime, dlib, numpy, the models), so it
# is opt-in for the deployments that estimate ages on their own nodes.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UV_PROJECT_ENVIRONMENT=/opt/ageband \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1
WORKDIR /src
# The installer, pinned by version and hash; it installs exactly what uv.lock pins.
COPY scripts/uv-requirements.txt ./scripts/
RUN python -m venv /opt/uv \
 && /opt/uv/bin/pip install --require-hashes -r scripts/uv-requirements.txt
COPY pyproject.toml uv.lock README.md ./
# The lock names the app SDK (a dev-only path dependency): its metadata, never installed here.
COPY clients/python/pyproject.toml clients/python/README.md ./clients/python/
COPY service ./service
COPY providers ./providers
# service/policy/bundled links here: the bundled packs become package data in the wheel.
COPY policies/*.yaml ./policies/
# Runtime dependencies only (no dev extra), plus the optional extras in EXTRAS; not editable.
ARG EXTRAS="tracing"
RUN /opt/uv/bin/uv sync --locked --no-editable --python "$(command -v python)" \
      $(for extra in $(echo "$EXTRAS" | tr ',' ' '); do printf -- '--extra %s ' "$extra"; done)

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 ageband \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin ageband
COPY --from=build /opt/ageband /opt/ageband
ENV PATH=/opt/ageband/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    AGEBAND_HTTP__HOST=0.0.0.0 \
    AGEBAND_HTTP__PORT=8080
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('AGEBAND_HTTP__PORT', '8080'), timeout=2)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["ageband"]
CMD ["serve"]
