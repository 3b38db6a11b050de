/* cpu.h - which vector instruction set the hand-written kernels use, chosen at run time.
 *
 * The default build is portable (-O2, no -march): kernels for AVX2+FMA and AVX-512 are
 * compiled with per-function target attributes and picked here from what the CPU (and the
 * OS, which must save the wider registers) supports.  TLR_ISA=generic|avx2|avx512 in the
 * environment, or tlr_cpu_set_isa() (tests), lowers the choice; it never raises it above
 * what the CPU can run. */
#ifndef TLR_CPU_H
#define TLR_CPU_H

typedef enum {
    TLR_ISA_GENERIC = 0, /* plain C */
    TLR_ISA_AVX2,        /* AVX2 + FMA (256-bit) */
    TLR_ISA_AVX512,      /* AVX-512F (512-bit, masked tails) */
    TLR_ISA_COUNT
} tlr_isa;

/* The best level this CPU supports. */
tlr_isa tlr_cpu_detect(void);

/* The level the kernels use now: detected, capped by TLR_ISA and tlr_cpu_set_isa(). */
tlr_isa tlr_cpu_isa(void);

/* Caps the level (clamped to what the CPU supports); returns the level now in use.
 * Call between ops, never while one runs. */
tlr_isa tlr_cpu_set_isa(tlr_isa isa);

/* "generic", "avx2", "avx512". */
const char *tlr_cpu_isa_name(tlr_isa isa);

#endif
