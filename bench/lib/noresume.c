/* LD_PRELOAD shim for wrk in the bench's connection-churn cases.
 *
 * Debian's wrk keeps one SSL object per connection slot and calls SSL_clear() on it before it
 * reconnects; SSL_clear() keeps the session, so the next handshake is resumed by any server
 * that issues tickets. This wraps SSL_clear() to count the finished connections and how many
 * of them were resumed (printed to stderr at exit as "TLS-RESUMED connections=N resumed=M"),
 * and, when PILLION_BENCH_NORESUME=1, to drop the session, so that every new connection does
 * a full handshake. The OpenSSL symbols are looked up at run time: no headers needed. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

typedef int (*ssl_fn)(void *);
typedef int (*ssl_set_fn)(void *, void *);

static unsigned long finished, resumed;
static ssl_fn real_clear, reused, init_finished;
static ssl_set_fn set_session;
static int drop = -1;

int SSL_clear(void *ssl) {
  if (!real_clear) {
    real_clear = (ssl_fn)dlsym(RTLD_NEXT, "SSL_clear");
    reused = (ssl_fn)dlsym(RTLD_NEXT, "SSL_session_reused");
    init_finished = (ssl_fn)dlsym(RTLD_NEXT, "SSL_is_init_finished");
    set_session = (ssl_set_fn)dlsym(RTLD_NEXT, "SSL_set_session");
    const char *v = getenv("PILLION_BENCH_NORESUME");
    drop = v != NULL && v[0] == '1';
  }
  if (init_finished != NULL && init_finished(ssl)) {
    finished++;
    if (reused != NULL && reused(ssl)) resumed++;
  }
  int rc = real_clear(ssl);
  if (drop && set_session != NULL) set_session(ssl, NULL);
  return rc;
}

__attribute__((destructor)) static void report(void) {
  fprintf(stderr, "TLS-RESUMED connections=%lu resumed=%lu\n", finished, resumed);
}
