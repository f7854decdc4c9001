# syntax=docker/dockerfile:1
# prellm's gateway image: a release build with the Swift runtime linked in, on a slim runtime
# holding only the C libraries it loads. The base images are build arguments, so the image
# builds from local bases where no registry is reachable:
#   podman build --build-arg BUILD_IMAGE=localhost/swift-build --build-arg RUNTIME_IMAGE=localhost/debian-slim \
#     --build-arg PRELLM_REVISION=$(git rev-parse --short=12 HEAD) -t prellm:0.2.0 .
#   docker run -p 4000:4000 -e OPENAI_API_KEY prellm:0.2.0 serve --model fast=openai/gpt-4o-mini
ARG BUILD_IMAGE=swift:6.1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${BUILD_IMAGE} AS build
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
       libyaml-dev libpcre2-dev libcurl4-openssl-dev libsqlite3-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# .git is not copied: the revision --version prints comes in as an argument, written where the
# BuildRevision plugin looks (SwiftPM does not pass the environment to it).
ARG PRELLM_REVISION=unknown
RUN printf '%s\n' "$PRELLM_REVISION" > .prellm-revision \
    && swift build -c release --static-swift-stdlib --product prellm \
    && bin="$(swift build -c release --static-swift-stdlib --show-bin-path)" \
    && install -D -m 0755 -s "$bin/prellm" /opt/prellm/bin/prellm \
    && ln -s prellm /opt/prellm/bin/prellm-run

FROM ${RUNTIME_IMAGE}
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
       libcurl4 libyaml-0-2 libpcre2-8-0 libsqlite3-0 libstdc++6 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/prellm --create-home --shell /usr/sbin/nologin prellm
# A folder, so that the prellm-run link stays a link.
COPY --from=build /opt/prellm/bin/ /usr/local/bin/
COPY stdlib /usr/share/prellm/stdlib
COPY schemas /usr/share/prellm/schemas
COPY LICENSE /usr/share/doc/prellm/LICENSE
USER 10001:10001
WORKDIR /var/lib/prellm
# Listen beyond the container, keys or not: what is reachable is what `-p` publishes (add keys,
# or PRELLM_ALLOW_REMOTE_WITHOUT_KEYS=0, for anything shared). The store and contexts live in
# the (mountable) home.
ENV PRELLM_HOST=0.0.0.0 PRELLM_PORT=4000 PRELLM_ALLOW_REMOTE_WITHOUT_KEYS=1 PRELLM_HOME=/var/lib/prellm
VOLUME /var/lib/prellm
EXPOSE 4000
# No curl in the image: bash's /dev/tcp asks /readyz.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${PRELLM_PORT} && printf 'GET /readyz HTTP/1.0\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["prellm"]
CMD ["serve"]
