# One image, one command per service (see docker-compose.yml and k8s/).
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml ./
COPY shared ./shared
COPY gateway ./gateway
COPY fetcher ./fetcher
COPY uploader ./uploader
COPY scheduler ./scheduler
COPY sandbox ./sandbox
COPY schema ./schema
RUN pip install -e . && useradd --create-home app
USER app
EXPOSE 8000
CMD ["python", "-m", "gateway"]
