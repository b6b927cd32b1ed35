# One image for the Neam runtime CLIs (neamc, neam, neam-forge, neam-api) and the
# operator (neam-operator). Runs as the non-root user 10001; the root filesystem can
# be read-only (write to /tmp, the workspace and session volumes only).
#
# BASE_IMAGE: any Debian-based image with Python >= 3.11 and `python` on PATH.
# `make image` passes a base built locally with debootstrap (hack/image.sh), for
# machines without access to a registry.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
WORKDIR /src
# Dependencies first, in their own layer: a source change rebuilds only the last step.
COPY pyproject.toml README.md ./
RUN python -m venv /opt/neam \
 && /opt/neam/bin/pip install --no-cache-dir --upgrade pip \
 && python -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"], sep="\n")' >requirements.txt \
 && /opt/neam/bin/pip install --no-cache-dir -r requirements.txt
COPY runtime ./runtime
COPY operator ./operator
RUN /opt/neam/bin/pip install --no-cache-dir --no-deps .

FROM ${BASE_IMAGE}
# git: forge agents with checkpoint "git" commit the workspace after every iteration,
# and a ForgeRun with spec.git clones its workspace and pushes a branch (openssh-client
# for ssh:// and git@ URLs).
# Workspaces are volumes whose root directory belongs to root (the kubelet applies
# fsGroup 10001 to it), so git would refuse them as "dubious ownership": trust the
# workspace mount point for every git command run in the image (neam-forge itself
# also trusts whatever workspace it is given).
RUN apt-get update \
 && apt-get install -y --no-install-recommends git openssh-client ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && git config --system --add safe.directory /workspace \
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
