/* cpu.c - run-time choice of the kernel instruction set. */
#include "base/cpu.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[TLR_ISA_COUNT] = { "generic", "avx2", "avx512" };

/* -1 until first use; the level is a plain int read by every kernel dispatch. */
static atomic_int current = -1;

tlr_isa tlr_cpu_detect(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma"))
        return TLR_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return TLR_ISA_AVX2;
#endif
    return TLR_ISA_GENERIC;
}

const char *tlr_cpu_isa_name(tlr_isa isa)
{
    return (unsigned)isa < TLR_ISA_COUNT ? names[isa] : "?";
}

tlr_isa tlr_cpu_isa(void)
{
    int cur = atomic_load_explicit(&current, memory_order_relaxed);
    if (cur < 0) {
        tlr_isa isa = tlr_cpu_detect();
        const char *env = getenv("TLR_ISA");
        for (int i = 0; env && i < TLR_ISA_COUNT; i++)
            if (strcmp(env, names[i]) == 0 && (tlr_isa)i < isa)
                isa = (tlr_isa)i;
        atomic_store_explicit(&current, (int)isa, memory_order_relaxed);
        cur = (int)isa;
    }
    return (tlr_isa)cur;
}

tlr_isa tlr_cpu_set_isa(tlr_isa isa)
{
    tlr_isa best = tlr_cpu_detect();
    tlr_isa now = isa < best ? isa : best;
    atomic_store_explicit(&current, (int)now, memory_order_relaxed);
    return now;
}
