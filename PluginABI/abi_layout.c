/* Compile-time checks that the v1 ABI layout never drifts: tables grow only at the end. */
#include "synapp.h"
#include <stddef.h>

_Static_assert(offsetof(syn_host, size) == 0, "syn_host.size must be first");
_Static_assert(offsetof(syn_host, minor) == 4, "syn_host.minor must be second");
_Static_assert(offsetof(syn_host, alloc) == 8, "syn_host slots start at 8");
_Static_assert(offsetof(syn_host, random) == 8 + 18 * sizeof(void *), "syn_host has 19 slots in v1.0");
/* v1.0 ended after `random`: minor 1 appends app_call, call_origin and node_id, and v1.0 offsets stay as they were. */
_Static_assert(offsetof(syn_host, app_call) == 8 + 19 * sizeof(void *), "syn_host v1.1 appends app_call after random");
_Static_assert(offsetof(syn_host, call_origin) == 8 + 20 * sizeof(void *), "syn_host v1.1 appends call_origin");
_Static_assert(offsetof(syn_host, node_id) == 8 + 21 * sizeof(void *), "syn_host v1.1 appends node_id");
_Static_assert(sizeof(syn_host) == 8 + 22 * sizeof(void *), "syn_host v1.1 size");
_Static_assert(offsetof(syn_plugin, shutdown) == 8 + 3 * sizeof(void *), "syn_plugin has 4 slots in v1.0");
_Static_assert(sizeof(syn_buf) == 2 * sizeof(void *), "syn_buf is {ptr, len}");
_Static_assert(SYN_E_INTERNAL == -10, "status codes are never renumbered");

/* Exported so the target is never empty; returns the ABI major this header describes. */
unsigned syn_abi_header_major(void) { return SYN_ABI_MAJOR; }
