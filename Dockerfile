# One image for the Neam runtime CLIs (neamc, neam, neam-forge, neam-api) and the
# operator (neam-operator). Runs as the non-root user 10001; the root filesystem can
# be read-only (write to /tmp, the workspace and session volumes only).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY runtime ./runtime
COPY operator ./operator
RUN python -m venv /opt/neam \
 && /opt/neam/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/neam/bin/pip install --no-cache-dir .

FROM python:3.11-slim
# git: forge agents with checkpoint "git" commit the workspace after every iteration.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 neam \
 && useradd --uid 10001 --gid 10001 --home-dir /home/neam --create-home --shell /usr/sbin/nologin neam
COPY --from=build /opt/neam /opt/neam
ENV PATH=/opt/neam/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
USER 10001:10001
WORKDIR /home/neam
EXPOSE 8080 8081
CMD ["neam-operator"]
