# One image, one command per service (see docker-compose.yml and k8s/): ohgithub-gateway,
# ohgithub-fetcher, ohgithub-uploader, ohgithub-scheduler. It holds the services only, installed
# from the built wheel; the sandbox is a separate target for local use (`--target sandbox`).

# GitHub's public GraphQL schema, which the sandbox validates queries against.
FROM node:20-slim AS graphql-schema
RUN npm install --silent --no-save --no-audit --no-fund --prefix /schema \
        @octokit/graphql-schema@15.26.1

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY gateway ./gateway
COPY fetcher ./fetcher
COPY uploader ./uploader
COPY scheduler ./scheduler
RUN pip wheel --no-cache-dir --no-deps -w /wheels .

# A local GitHub and Open Humans for trying the system without credentials (docker-compose's
# "sandbox" profile). Never deployed.
FROM python:3.11-slim AS sandbox
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    GITHUB_GRAPHQL_SCHEMA=/app/schema.graphql
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install "$(ls /wheels/*.whl)[sandbox]" && useradd --create-home app
COPY --from=graphql-schema /schema/node_modules/@octokit/graphql-schema/schema.graphql ./
COPY sandbox ./sandbox
USER app
EXPOSE 8900
CMD ["python", "-m", "sandbox", "--host", "0.0.0.0", "--port", "8900"]

# The services (the default target).
FROM python:3.11-slim AS app
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl && rm -rf /wheels && useradd --create-home app
USER app
WORKDIR /home/app
EXPOSE 8000 9191
CMD ["ohgithub-gateway"]
