/* harness.h - the unit-test harness: checks that count, report the first failure
 * with values, and a runner that ends with "N passed, N failed". */
#ifndef TLR_HARNESS_H
#define TLR_HARNESS_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern int tlr_t_passed, tlr_t_failed;
extern const char *tlr_t_suite;

void tlr_t_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void tlr_t_pass(void);

/* Directory holding tests/ (for fixtures), and ../shared when it exists (NULL otherwise). */
const char *tlr_t_root(void);
const char *tlr_t_shared(void);
/* A scratch directory unique to this run; created on first use. */
const char *tlr_t_tmpdir(void);
/* The whole file, NUL-terminated (free()); NULL when it cannot be read.  'len' may be NULL. */
char *tlr_t_slurp(const char *path, size_t *len);
/* Prints a visible skip line (counted neither as pass nor fail). */
void tlr_t_skip(const char *what, const char *why);

#define CHECK(cond, ...) \
    do { if (cond) tlr_t_pass(); else tlr_t_fail(__FILE__, __LINE__, __VA_ARGS__); } while (0)

#define OK(cond, msg) CHECK((cond), "%s: expected true: %s", (msg), #cond)

#define INT_EQ(got, want, msg) do { \
    long long g_ = (long long)(got), w_ = (long long)(want); \
    CHECK(g_ == w_, "%s: got %lld, want %lld", (msg), g_, w_); } while (0)

#define STR_EQ(got, want, msg) do { \
    const char *g_ = (got), *w_ = (want); \
    CHECK(g_ && w_ && strcmp(g_, w_) == 0, "%s:\n--- got\n%s\n--- want\n%s", (msg), \
          g_ ? g_ : "(null)", w_ ? w_ : "(null)"); } while (0)

#define STR_CONTAINS(hay, needle, msg) do { \
    const char *h_ = (hay), *n_ = (needle); \
    CHECK(h_ && n_ && strstr(h_, n_), "%s: '%s' not found in:\n%s", (msg), \
          n_ ? n_ : "(null)", h_ ? h_ : "(null)"); } while (0)

#define NEAR(got, want, tol, msg) do { \
    double g_ = (double)(got), w_ = (double)(want); \
    CHECK(fabs(g_ - w_) <= (tol), "%s: got %.9g, want %.9g (tol %g)", (msg), g_, w_, (double)(tol)); } while (0)

/* Compares n floats; relative error is max|a-b| / max|b| (as the oracle's compare.py). */
int tlr_t_floats_near(const char *file, int line, const float *got, const float *want, size_t n,
                      double rel_tol, const char *msg);
#define FLOATS_NEAR(got, want, n, rel_tol, msg) \
    tlr_t_floats_near(__FILE__, __LINE__, (got), (want), (n), (rel_tol), (msg))

#endif
