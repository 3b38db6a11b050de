/* vectorize.h - TLR_VECTORIZE asks GCC to vectorise one function's loops.
 *
 * At -O2 GCC 12 vectorises only loops its "very cheap" cost model accepts, which leaves
 * per-lane selects and small fixed-count loops scalar.  Functions written as independent
 * lanes (eight running minima, eight partial sums merged in a fixed order) keep their results
 * exact and deterministic when vectorised, so they may ask for it.  Other compilers: nothing. */
#ifndef TLR_VECTORIZE_H
#define TLR_VECTORIZE_H

#if defined(__GNUC__) && !defined(__clang__)
#define TLR_VECTORIZE __attribute__((optimize("tree-vectorize", "vect-cost-model=dynamic")))
#else
#define TLR_VECTORIZE
#endif

#endif
