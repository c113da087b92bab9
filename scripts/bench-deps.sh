#!/usr/bin/env bash
# The load tools and peer proxies `npm run bench` measures against; gcc builds the load
# generator's no-resume shim (bench/lib/noresume.c). `nginx` (not nginx-light) has grpc_pass.
exec bash "$(dirname "$0")/apt-need.sh" bench-deps \
  wrk:wrk h2load:nghttp2-client nginx:nginx haproxy:haproxy slowhttptest:slowhttptest \
  gcc:gcc openssl:openssl
