/* fuzz_zip.c - libFuzzer target: .keras archive bytes -> tlr_zip_open_buffer -> every member
 * read under a small limit -> the whole loader (config.json, metadata.json, model.weights.h5)
 * -> weights loaded under a small budget. */
#include <stdint.h>
#include <stdlib.h>

#include "base/strlist.h"
#include "io/zipio.h"
#include "keras/kfile.h"

#define FUZZ_ZIP_MEMBER_MAX ((size_t)1 << 20)
#define FUZZ_ZIP_WEIGHTS_MAX ((int64_t)64 << 20)

static void fuzz_zip_members(const uint8_t *data, size_t size)
{
    tlr_err err = { 0 };
    tlr_zip *z = tlr_zip_open_buffer(data, size, "fuzz.keras", &err);
    if (!z)
        return;
    tlr_strlist names = TLR_STRLIST_INIT;
    if (tlr_zip_list(z, &names, &err) == TLR_OK)
        for (size_t i = 0; i < names.n && i < 64; i++) {
            size_t len = 0;
            free(tlr_zip_read(z, names.items[i], FUZZ_ZIP_MEMBER_MAX, &len, &err));
        }
    tlr_strlist_free(&names);
    tlr_zip_close(z);
}

static tlr_status fuzz_zip_run(const uint8_t *data, size_t size, tlr_err *err)
{
    if (!tlr_zip_is_zip(data, size))
        return tlr_err_set(err, TLR_E_FORMAT, "not a zip");
    fuzz_zip_members(data, size);
    tlr_kfile *f = tlr_kfile_open_buffer(data, size, "fuzz.keras", NULL, err);
    if (!f)
        return err->code;
    f->wctx.max_bytes = FUZZ_ZIP_WEIGHTS_MAX;
    tlr_status st = tlr_kfile_load_weights(f, err);
    tlr_kfile_free(f);
    return st;
}

#ifndef TLR_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tlr_err err = { 0 };
    fuzz_zip_run(data, size, &err);
    return 0;
}
#endif
