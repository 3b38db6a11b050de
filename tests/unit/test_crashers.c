/* test_crashers.c - every input that ever crashed a fuzz target (tests/crashers/<target>/), run
 * again through that target's own entry point (the fuzz sources are compiled in here without
 * their libFuzzer main).  Each must end in a clean error with a message, or succeed; the
 * sanitizer build (make check SANITIZE=address,undefined) turns any memory error back into a
 * failure.  The same inputs, plus the broken fixtures, must also leave stderr silent (no
 * library prints on bad input) and leave no file descriptor open. */
#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"

#define TLR_FUZZ_NO_MAIN
#include "fuzz/fuzz_h5.c"
#include "fuzz/fuzz_image.c"
#include "fuzz/fuzz_keras_config.c"
#include "fuzz/fuzz_npy.c"
#include "fuzz/fuzz_pipeline.c"
#include "fuzz/fuzz_template.c"
#include "fuzz/fuzz_zip.c"

typedef tlr_status (*fuzz_fn)(const uint8_t *data, size_t size, tlr_err *err);

static const struct {
    const char *name;
    fuzz_fn run;
} targets[] = {
    { "keras_config", fuzz_keras_config_run }, { "zip", fuzz_zip_run },
    { "h5", fuzz_h5_run },                     { "image", fuzz_image_run },
    { "template", fuzz_template_run },         { "npy", fuzz_npy_run },
    { "pipeline", fuzz_pipeline_run },
};

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* Runs every regular file of 'dir' through 'run'; returns how many ran. */
static int run_dir(const char *dir, const char *target, fuzz_fn run)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len = 0;
        unsigned char *buf = (unsigned char *)tlr_t_slurp(path, &len);
        if (!buf)
            continue;
        tlr_err err = { 0 };
        tlr_status st = run(buf, len, &err);
        free(buf);
        CHECK(st == TLR_OK || (st > TLR_OK && st < TLR_E_COUNT && err.msg[0]),
              "%s: %s: status %d without a message", target, e->d_name, (int)st);
        n++;
    }
    closedir(d);
    return n;
}

void test_crashers(void)
{
    char dir[1024];
    int fds = count_fds();
    /* stderr goes to a file while hostile input is read: it must stay empty */
    char errpath[1200];
    snprintf(errpath, sizeof errpath, "%s/crashers_stderr.txt", tlr_t_tmpdir());
    fflush(stderr);
    int saved = dup(2);
    FILE *capture = fopen(errpath, "w");
    if (capture)
        dup2(fileno(capture), 2);
    int total = 0, per[sizeof targets / sizeof targets[0]];
    for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
        snprintf(dir, sizeof dir, "%s/tests/crashers/%s", tlr_t_root(), targets[t].name);
        per[t] = run_dir(dir, targets[t].name, targets[t].run);
        total += per[t];
    }
    /* the broken fixtures through the same entry points */
    snprintf(dir, sizeof dir, "%s/tests/fixtures/images/bad", tlr_t_root());
    int bad_images = run_dir(dir, "image", fuzz_image_run);
    snprintf(dir, sizeof dir, "%s/tests/fixtures/bad", tlr_t_root());
    int bad_models = run_dir(dir, "pipeline", fuzz_pipeline_run);
    fflush(stderr);
    if (capture) {
        dup2(saved, 2);
        fclose(capture);
    }
    close(saved);
    OK(total > 0, "tests/crashers holds inputs");
    OK(bad_images >= 10 && bad_models >= 8, "broken fixtures found");
    size_t elen = 0;
    unsigned char *etext = (unsigned char *)tlr_t_slurp(errpath, &elen);
    CHECK(elen == 0, "hostile inputs printed %zu bytes to stderr: %.*s", elen,
          (int)(elen > 400 ? 400 : elen), etext ? (const char *)etext : "");
    free(etext);
    INT_EQ(count_fds(), fds, "open file descriptors after all hostile inputs");
}
