#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/abstract.h>

/* gnutls_malloc is a global function pointer, which Swift 6 treats as shared mutable state; memory GnuTLS frees
 * (a signature made by a key callback) must come from it. */
static inline void *csyn_gnutls_malloc(size_t size) { return gnutls_malloc(size); }

/* gnutls_free is a global function pointer too: memory GnuTLS hands out (a printed verification status) goes back
 * through it. */
static inline void csyn_gnutls_free(void *p) { gnutls_free(p); }
