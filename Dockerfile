# syntax=docker/dockerfile:1
# One image for every Parley service (`parley serve users|signaling|meetings|media|ai|ai-worker`)
# and, as the `gateway` target, nginx with the web client and the rendered gateway config.
#
#   docker build -t parley .                      # the services
#   docker build -t parley-gateway --target gateway .

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: a virtual environment with Parley and its dependencies ---------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m venv /opt/venv && /opt/venv/bin/pip install .
# The gateway configs for the compose/Kubernetes topology (service names as host names): with
# TLS on 443 (certificate mounted at /etc/nginx/ssl) and HTTP only.
COPY deploy/nginx ./deploy/nginx
RUN PARLEY_NGINX_TEMPLATES=/src/deploy/nginx /opt/venv/bin/parley gateway render \
      --out /gateway --run-dir /tmp/nginx --listen 0.0.0.0 --worker-user nginx \
      --static-dir /usr/share/parley/static \
      --tls-port 443 --ssl-cert /etc/nginx/ssl/parley.crt --ssl-key /etc/nginx/ssl/parley.key \
      --upstream users=users:8080 --upstream signaling=signaling:8081 \
      --upstream meetings=meetings:8082 --upstream media=media:8083 --upstream ai=ai:8085 \
 && PARLEY_NGINX_TEMPLATES=/src/deploy/nginx /opt/venv/bin/parley gateway render \
      --out /gateway-http --run-dir /tmp/nginx --listen 0.0.0.0 --worker-user nginx \
      --static-dir /usr/share/parley/static \
      --upstream users=users:8080 --upstream signaling=signaling:8081 \
      --upstream meetings=meetings:8082 --upstream media=media:8083 --upstream ai=ai:8085 \
 && cp -r /opt/venv/lib/python3.11/site-packages/parley/web/static /gateway-static

# --- runtime: the services, as an unprivileged user ------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
# flite/espeak-ng: speech synthesis engines; libgomp1: onnxruntime; curl: health checks.
RUN apt-get update \
 && apt-get install -y --no-install-recommends flite espeak-ng libgomp1 curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --create-home --home-dir /var/lib/parley parley
COPY --from=build /opt/venv /opt/venv
COPY deploy/nginx /opt/parley/deploy/nginx
COPY deploy/triton/model_repository /opt/parley/model_repository
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PARLEY_DATA_DIR=/var/lib/parley \
    PARLEY_NGINX_TEMPLATES=/opt/parley/deploy/nginx \
    PARLEY_ENV=production
USER 10001:10001
WORKDIR /var/lib/parley
EXPOSE 8080 8081 8082 8083 8085 8086
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s \
  CMD curl -fsS "http://127.0.0.1:${PARLEY_HEALTH_PORT:-8080}/health" || exit 1
ENTRYPOINT ["parley"]
CMD ["serve", "users", "--host", "0.0.0.0"]

# --- gateway: nginx, the web client and the rendered config ----------------------------------
FROM nginx:1.27-bookworm AS gateway
COPY --from=build /gateway /etc/parley-gateway
# HTTP only (TLS ends at a Kubernetes Ingress or another proxy in front).
COPY --from=build /gateway-http /etc/parley-gateway-http
COPY --from=build /gateway-static /usr/share/parley/static
RUN mkdir -p /tmp/nginx && chown nginx /tmp/nginx
EXPOSE 8800 443
# The rendered config says `daemon off;` and logs to stdout/stderr.
CMD ["nginx", "-p", "/etc/parley-gateway", "-c", "/etc/parley-gateway/nginx.conf"]
