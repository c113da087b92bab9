#!/usr/bin/env bash
# The Debian packages the test suite drives for real (python3-h2: an independent HTTP/2 client;
# tini: the reference init and PID 1 reaper; prlimit: a low open-file limit for one process;
# chromium: the browser the dashboard test drives with playwright-core).
exec bash "$(dirname "$0")/apt-need.sh" test-deps \
  python3:python3 curl:curl openssl:openssl tini:tini unshare:util-linux prlimit:util-linux py:h2:python3-h2 chromium:chromium
