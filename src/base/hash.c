/* hash.c - FNV-1a 64. */
#include "base/hash.h"

#include <stdio.h>
#include <string.h>

uint64_t tlr_hash_bytes(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

uint64_t tlr_hash_str(uint64_t h, const char *s)
{
    return tlr_hash_bytes(h, s, strlen(s) + 1);
}

void tlr_hash_hex(uint64_t h, char out[17])
{
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}
