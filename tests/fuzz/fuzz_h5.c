/* fuzz_h5.c - libFuzzer target: an HDF5 file image -> tlr_h5_open_image -> what the loader
 * reads: the root's string attributes (model_config, keras_version, layer_names), every
 * attribute described for the storage report, the group tree, and every dataset's info and
 * (when small) its values as float32. */
#include <stdint.h>
#include <stdlib.h>

#include "base/strlist.h"
#include "base/xalloc.h"
#include "io/h5file.h"

#define FUZZ_H5_MAX_VALUES ((int64_t)1 << 20)

static void fuzz_h5_attrs(tlr_h5 *h, const char *obj)
{
    tlr_h5_attr *a = NULL;
    size_t n = 0;
    tlr_err err = { 0 };
    if (tlr_h5_attrs(h, obj, &a, &n, &err) == TLR_OK)
        tlr_h5_attrs_free(a, n);
    static const char *const names[] = { "layer_names", "weight_names" };
    for (int i = 0; i < 2; i++) {
        tlr_strlist l = TLR_STRLIST_INIT;
        tlr_h5_attr_strings(h, obj, names[i], &l, &err);
        tlr_strlist_free(&l);
    }
}

static void fuzz_h5_dataset(tlr_h5 *h, const char *path)
{
    tlr_h5_dsinfo info;
    tlr_err err = { 0 };
    if (tlr_h5_dataset_info(h, path, &info, &err) != TLR_OK || info.numel > FUZZ_H5_MAX_VALUES)
        return;
    float *x = tlr_xmalloc((size_t)(info.numel ? info.numel : 1) * sizeof *x);
    tlr_h5_dataset_read_f32(h, path, x, info.numel, &err);
    free(x);
}

static tlr_status fuzz_h5_run(const uint8_t *data, size_t size, tlr_err *err)
{
    tlr_h5 *h = tlr_h5_open_image(data, size, "fuzz.h5", err);
    if (!h)
        return err->code;
    static const char *const strs[] = { "model_config", "training_config", "keras_version",
                                        "backend" };
    for (int i = 0; i < 4; i++)
        free(tlr_h5_attr_string(h, "/", strs[i], NULL));
    fuzz_h5_attrs(h, "/");
    tlr_strlist groups = TLR_STRLIST_INIT, sets = TLR_STRLIST_INIT;
    tlr_status st = tlr_h5_children(h, "/", &groups, err);
    for (size_t i = 0; st == TLR_OK && i < groups.n && i < 32; i++) {
        char *p = tlr_xasprintf("/%s", groups.items[i]);
        if (tlr_h5_is_group(h, p))
            fuzz_h5_attrs(h, p);
        free(p);
    }
    if (st == TLR_OK)
        st = tlr_h5_datasets_under(h, "/", &sets, err);
    for (size_t i = 0; i < sets.n && i < 64; i++) {
        char *p = tlr_xasprintf("/%s", sets.items[i]);
        fuzz_h5_dataset(h, p);
        free(p);
    }
    tlr_strlist_free(&groups);
    tlr_strlist_free(&sets);
    tlr_h5_close(h);
    return st;
}

#ifndef TLR_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tlr_err err = { 0 };
    fuzz_h5_run(data, size, &err);
    return 0;
}
#endif
