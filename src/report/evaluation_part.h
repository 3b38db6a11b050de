/* evaluation_part.h - one shard's evaluation as a folder, and back.
 *
 * A part folder holds part.json (the counts, the kept picks and samples, what the shard was
 * made from), the thumbnails and sample inputs it names (PNG and .npy files under t/ and s/) and
 * COMPLETE, which gives part.json's size and hash; part.json gives every other file's size
 * and hash.  The folder is written through tlr_site_write (a temporary folder renamed into
 * place), so a shard killed while writing leaves no folder under the name; and a reader
 * accepts a folder only when every size and hash matches, so nothing partial or mixed is
 * ever merged. */
#ifndef TLR_EVALUATION_PART_H
#define TLR_EVALUATION_PART_H

#include <stdint.h>

#include "base/err.h"
#include "base/strlist.h"
#include "report/evaluation.h"

/* What a part was made from; parts merge only when all of it agrees. */
typedef struct {
    int shard_k, shard_n;
    int64_t begin, end;        /* the slice of the listing */
    char fingerprint[17];      /* the listing (tlr_dataset.fingerprint, hex) */
    char *settings;            /* model and options that change results (owned) */
    tlr_strlist notes;         /* files skipped while listing (the same in every part) */
} tlr_eval_part_meta;

void tlr_eval_part_meta_free(tlr_eval_part_meta *m);

/* Writes 'ev' and 'meta' as the part folder 'dir' (replacing an earlier part or report there;
 * another folder only with 'force'). */
tlr_status tlr_eval_part_write(const char *dir, const tlr_eval *ev, const tlr_eval_part_meta *meta,
                               int force, tlr_err *err);

/* Reads the part folder 'dir'.  Fails, naming the folder and what is wrong, unless the part
 * is complete and intact.  Free *ev with tlr_eval_free and *meta with tlr_eval_part_meta_free. */
tlr_status tlr_eval_part_read(const char *dir, tlr_eval **ev, tlr_eval_part_meta *meta,
                              tlr_err *err);

#endif
