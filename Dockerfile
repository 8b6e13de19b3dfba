# trickle: slim, non-root, the project installed (with the embedded model).
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY core ./core
COPY bots ./bots
RUN python -m venv /opt/trickle \
    && CMAKE_ARGS="-DGGML_NATIVE=OFF" /opt/trickle/bin/pip install --no-cache-dir ".[local]"

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 trickle
COPY --from=build /opt/trickle /opt/trickle
ENV PATH=/opt/trickle/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    TRICKLE_HTTP_HOST=0.0.0.0
USER trickle
WORKDIR /home/trickle
EXPOSE 3000 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD python -c "import urllib.request,os;urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('TRICKLE_HTTP_PORT','3000'), timeout=4)"
ENTRYPOINT ["trickle"]
CMD ["serve"]
