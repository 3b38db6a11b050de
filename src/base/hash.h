/* hash.h - FNV-1a, 64 bits: a fingerprint for file lists and a checksum for written parts
 * (catches truncation and mixed-up files; it is not a defence against forgery). */
#ifndef TLR_HASH_H
#define TLR_HASH_H

#include <stddef.h>
#include <stdint.h>

#define TLR_HASH_INIT 0xcbf29ce484222325ULL

/* Continues hash 'h' (start from TLR_HASH_INIT) over 'len' bytes. */
uint64_t tlr_hash_bytes(uint64_t h, const void *data, size_t len);

/* Continues 'h' over the string 's' and its terminating NUL (so "ab","c" differs from "a","bc"). */
uint64_t tlr_hash_str(uint64_t h, const char *s);

/* "0123456789abcdef": 16 hex digits and a NUL into 'out'. */
void tlr_hash_hex(uint64_t h, char out[17]);

#endif
