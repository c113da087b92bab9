#!/usr/bin/env bash
# The load tools and peer proxies `npm run bench` measures against.
exec bash "$(dirname "$0")/apt-need.sh" bench-deps \
  wrk:wrk h2load:nghttp2-client nginx:nginx-light haproxy:haproxy slowhttptest:slowhttptest
