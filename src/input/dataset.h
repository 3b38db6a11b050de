/* dataset.h - labelled image folders, as Keras's image_dataset_from_directory reads them:
 * ROOT/<class>/.../<image>, one subfolder per class.  Listing, classes, deterministic slices
 * (shards) and loading a few images at a time for a streaming evaluation.
 *
 * Class index = position of the folder name in bytewise sorted order (Keras sorts the names),
 * or the position of the name in a labels file (Teachable Machine's labels.txt) when one is
 * given.  Items are listed class by class in index order, and by path (bytewise) within a
 * class; an item's place in that list is its global index, the same on every machine. */
#ifndef TLR_DATASET_H
#define TLR_DATASET_H

#include <stdint.h>

#include "base/err.h"
#include "base/strlist.h"
#include "input/input.h"

/* Images are evaluated in blocks of this many consecutive items, and shards cut only between
 * blocks, so every image is run in the same batch whatever the sharding (results do not
 * depend on how a run is split). */
#define TLR_DATASET_BLOCK 8

typedef struct {
    char *path;        /* ROOT/class/file, as found (owned) */
    const char *rel;   /* "class/file": points into path */
    int cls;           /* class index */
    int64_t rank;      /* position among the items of its class */
} tlr_dataset_item;

typedef struct {
    char *root;                 /* the folder as given (owned) */
    tlr_strlist classes;        /* names in index order */
    tlr_dataset_item *items;    /* n_items, in global order */
    int64_t n_items;
    tlr_strlist notes;          /* files skipped while listing ("cat/notes.txt: not a PNG or
                                 * JPEG image, skipped"), relative to root, sorted */
    uint64_t fingerprint;       /* classes, relative paths and notes, hashed */
} tlr_dataset;

/* 1 when 'path' is a folder laid out by class: at least two subfolders (not hidden) and no
 * PNG or JPEG file directly inside.  Anything else (a file, a folder of images, a folder that
 * cannot be read) is 0: the ordinary image arguments then apply. */
int tlr_dataset_is_labelled(const char *path);

/* Lists the labelled folder 'root'.  'labels' (may be NULL or empty) fixes the classes and
 * their order; a subfolder that matches no label is an error naming it.  Without labels the
 * classes are the sorted subfolder names.  Free with tlr_dataset_free(). */
tlr_status tlr_dataset_scan(const char *root, const tlr_strlist *labels, tlr_dataset *out,
                            tlr_err *err);
void tlr_dataset_free(tlr_dataset *ds);

/* The items [*begin, *end) of slice k (1-based) of n: contiguous runs of whole blocks, the
 * same for every run over the same listing.  Slices may be empty when n exceeds the blocks. */
void tlr_dataset_slice(const tlr_dataset *ds, int k, int n, int64_t *begin, int64_t *end);

/* Loads items[0..n) in parallel into out[0..n) (as tlr_input_load does, with the item's
 * relative path as the input's source).  Item i that cannot be loaded gets
 * out[i].tensor == NULL and its reason in errs[i] ("cat/3.png: truncated ..."). */
void tlr_dataset_load(const tlr_dataset_item *items, int n, const tlr_shape *in,
                      const tlr_input_opts *o, tlr_input *out, tlr_err *errs);

#endif
