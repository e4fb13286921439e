/* CSynSeccomp: libseccomp plus static inline shims for its macros and variadic calls. */
#ifndef CSYN_SECCOMP_SHIM_H
#define CSYN_SECCOMP_SHIM_H
#include <seccomp.h>
#include <stddef.h>
#include <stdint.h>

static inline uint32_t csyn_scmp_act_kill_process(void) { return SCMP_ACT_KILL_PROCESS; }
static inline uint32_t csyn_scmp_act_trap(void) { return SCMP_ACT_TRAP; }
static inline uint32_t csyn_scmp_act_allow(void) { return SCMP_ACT_ALLOW; }
static inline uint32_t csyn_scmp_act_log(void) { return SCMP_ACT_LOG; }
static inline uint32_t csyn_scmp_act_errno(uint32_t e) { return SCMP_ACT_ERRNO(e); }
static inline uint32_t csyn_scmp_arch_native(void) { return SCMP_ARCH_NATIVE; }

/* Adds a rule with no argument filter. */
static inline int csyn_rule_add(scmp_filter_ctx ctx, uint32_t action, int syscall) {
    return seccomp_rule_add_array(ctx, action, syscall, 0, NULL);
}
/* Adds a rule matching (arg[index] & mask) == value. */
static inline int csyn_rule_add_masked(scmp_filter_ctx ctx, uint32_t action, int syscall,
                                       unsigned index, uint64_t mask, uint64_t value) {
    struct scmp_arg_cmp cmp = { index, SCMP_CMP_MASKED_EQ, mask, value };
    return seccomp_rule_add_array(ctx, action, syscall, 1, &cmp);
}
#endif
