# shardplan in a slim image: built in the Swift image with the Swift runtime
# linked in (Scripts/install.sh), then copied with its manual and completions
# into Debian slim, which adds only the optional run-time libraries.
#   docker build -t shardplan .
#   docker run --rm --gpus all shardplan topology local
#   docker run --rm shardplan plan Qwen/Qwen2.5-72B --topology 2x-rtx-pro-6000-blackwell
FROM swift:6.3-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libhwloc-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN Scripts/install.sh /opt/shardplan

FROM debian:bookworm-slim
# libhwloc15 for `topology local` and hwloc XML, libcurl4 and CA certificates for
# the Hugging Face Hub; shardplan starts and plans without them.
RUN apt-get update && apt-get install -y --no-install-recommends libhwloc15 libcurl4 ca-certificates \
  && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/shardplan /usr/local
ENTRYPOINT ["/usr/local/bin/shardplan"]
CMD ["--help"]
