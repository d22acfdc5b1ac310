# The envwake image: the locked runtime dependencies, git (GitPython drives it), a
# non-root user. Build: docker build -t envwake:dev .
FROM python:3.11-slim AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/opt/envwake \
    UV_PYTHON_DOWNLOADS=never
RUN pip install --no-cache-dir uv==0.13.8
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project
COPY operator ./operator
RUN uv sync --locked --no-dev --no-editable

FROM python:3.11-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 10001 --user-group --no-create-home --home-dir /var/tmp/envwake envwake
COPY --from=build /opt/envwake /opt/envwake
ENV PATH=/opt/envwake/bin:$PATH PYTHONUNBUFFERED=1 HOME=/var/tmp/envwake
USER 10001:10001
ENTRYPOINT ["envwake"]
CMD ["run"]
