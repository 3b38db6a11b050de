/* test_npy.c - .npy reading and writing, checked against files numpy wrote
 * (tests/gen/make_npy_fixtures.py) and against malformed headers built here. */
#include <stdlib.h>

#include "harness.h"
#include "base/json.h"
#include "io/npy.h"

static char *fixture(const char *name)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/npy/%s", tlr_t_root(), name);
    return path;
}

/* ---- files written by numpy ------------------------------------------------------- */

static void reads_numpy_float32(void)
{
    tlr_err err = {0};
    int nd = -1;
    int64_t sh[TLR_NPY_MAX_DIMS];
    float *v = tlr_npy_read(fixture("f4_2x3x4.npy"), &nd, sh, &err);
    OK(v != NULL, err.msg);
    if (!v)
        return;
    INT_EQ(nd, 3, "rank");
    INT_EQ(sh[0], 2, "dim 0");
    INT_EQ(sh[1], 3, "dim 1");
    INT_EQ(sh[2], 4, "dim 2");
    int bad = 0;
    for (int i = 0; i < 24; i++)
        bad += v[i] != (float)i * 0.5f - 3.0f;
    INT_EQ(bad, 0, "values i*0.5-3 in C order");
    free(v);
}

static void reads_numpy_float64_as_float32(void)
{
    tlr_err err = {0};
    int nd;
    int64_t sh[TLR_NPY_MAX_DIMS];
    float *v = tlr_npy_read(fixture("f8_5.npy"), &nd, sh, &err);
    OK(v != NULL, err.msg);
    if (!v)
        return;
    INT_EQ(nd, 1, "rank");
    INT_EQ(sh[0], 5, "len");
    int bad = 0;
    for (int i = 0; i < 5; i++)
        bad += v[i] != (float)((double)(i + 1) / 3.0); /* round to nearest, as numpy does */
    INT_EQ(bad, 0, "(i+1)/3 rounded to float32");
    free(v);
}

static void reads_version2_bigendian_scalar_empty(void)
{
    tlr_err err = {0};
    int nd;
    int64_t sh[TLR_NPY_MAX_DIMS];
    float *v = tlr_npy_read(fixture("f4_v2_3x2.npy"), &nd, sh, &err);
    OK(v != NULL, err.msg);
    if (v) {
        INT_EQ(nd, 2, "v2 rank");
        INT_EQ(sh[0] * 10 + sh[1], 32, "v2 shape (3, 2)");
        NEAR(v[5], 0.25, 0, "v2 last value 5*0.25-1");
        NEAR(v[0], -1.0, 0, "v2 first value");
        free(v);
    }
    v = tlr_npy_read(fixture("f4_be_4.npy"), &nd, sh, &err);
    OK(v != NULL, err.msg);
    if (v) {
        INT_EQ(sh[0], 4, "big-endian len");
        NEAR(v[0] + v[1] * 10 + v[2] * 100 + v[3] * 1000, 1 + 20 + 400 + 8000, 0,
             "big-endian values 1, 2, 4, 8");
        free(v);
    }
    v = tlr_npy_read(fixture("f4_scalar.npy"), &nd, sh, &err);
    OK(v != NULL, err.msg);
    if (v) {
        INT_EQ(nd, 0, "scalar rank 0");
        NEAR(v[0], 7.5, 0, "scalar value");
        free(v);
    }
    v = tlr_npy_read(fixture("f4_empty_0x3.npy"), &nd, sh, &err);
    OK(v != NULL, err.msg);
    if (v) {
        INT_EQ(nd, 2, "empty rank");
        INT_EQ(sh[0], 0, "empty dim 0");
        INT_EQ(sh[1], 3, "empty dim 1");
        free(v);
    }
}

/* Our writer must produce exactly the bytes np.save produced for the same array. */
static void writes_like_numpy(void)
{
    float v[24];
    for (int i = 0; i < 24; i++)
        v[i] = (float)i * 0.5f - 3.0f;
    const int64_t sh[3] = {2, 3, 4};
    size_t want_len = 0, got_len = 0;
    unsigned char *want = (unsigned char *)tlr_t_slurp(fixture("f4_2x3x4.npy"), &want_len);
    OK(want != NULL, "fixture readable");
    tlr_err err = {0};
    unsigned char *got = tlr_npy_encode(3, sh, v, &got_len, &err);
    OK(got != NULL, err.msg);
    CHECK(want && got && got_len == want_len && memcmp(got, want, got_len) == 0,
          "encode (2,3,4) differs from np.save: %zu vs %zu bytes", got_len, want_len);
    free(got);
    free(want);

    float s = 7.5f;
    want = (unsigned char *)tlr_t_slurp(fixture("f4_scalar.npy"), &want_len);
    got = tlr_npy_encode(0, NULL, &s, &got_len, &err);
    CHECK(want && got && got_len == want_len && memcmp(got, want, got_len) == 0,
          "encode scalar differs from np.save");
    free(got);
    free(want);

    const int64_t e[2] = {0, 3};
    want = (unsigned char *)tlr_t_slurp(fixture("f4_empty_0x3.npy"), &want_len);
    got = tlr_npy_encode(2, e, NULL, &got_len, &err);
    CHECK(want && got && got_len == want_len && memcmp(got, want, got_len) == 0,
          "encode (0,3) differs from np.save");
    free(got);
    free(want);
}

static void round_trips_through_a_file(void)
{
    enum { N = 5 * 7 * 3 };
    float v[N];
    for (int i = 0; i < N; i++)
        v[i] = sinf((float)i) * 1e3f;
    v[3] = -0.0f;
    v[4] = INFINITY;
    v[5] = 1e-40f; /* subnormal survives bit-exactly */
    const int64_t sh[4] = {1, 5, 7, 3};
    char path[1100];
    snprintf(path, sizeof path, "%s/rt.npy", tlr_t_tmpdir());
    tlr_err err = {0};
    INT_EQ(tlr_npy_write(path, 4, sh, v, &err), TLR_OK, "write");
    int nd;
    int64_t got_sh[TLR_NPY_MAX_DIMS];
    float *got = tlr_npy_read(path, &nd, got_sh, &err);
    OK(got != NULL, err.msg);
    if (!got)
        return;
    INT_EQ(nd, 4, "rank");
    OK(got_sh[0] == 1 && got_sh[1] == 5 && got_sh[2] == 7 && got_sh[3] == 3, "shape");
    OK(memcmp(got, v, sizeof v) == 0, "bit-exact values");
    free(got);

    const int64_t one[1] = {N};
    size_t len;
    unsigned char *b = tlr_npy_encode(1, one, v, &len, &err);
    OK((10 + (size_t)(b[8] | b[9] << 8)) % 64 == 0, "data starts on a 64-byte boundary");
    got = tlr_npy_read_mem(b, len, "mem", &nd, got_sh, &err);
    OK(got && nd == 1 && got_sh[0] == N && memcmp(got, v, sizeof v) == 0, "1-D memory round trip");
    free(got);
    free(b);
}

/* ---- errors ----------------------------------------------------------------------- */

/* Builds a version 1.0 file with header text 'hdr' (a '\n' is appended) and 'data_len'
 * zero bytes of data, then expects the reader to fail with 'code' and 'needle'. */
static void expect_bad_header(const char *hdr, size_t data_len, tlr_status code,
                              const char *needle)
{
    size_t hl = strlen(hdr) + 1, len = 10 + hl + data_len;
    unsigned char *b = calloc(1, len);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (unsigned char)(hl & 0xff);
    b[9] = (unsigned char)(hl >> 8);
    memcpy(b + 10, hdr, hl - 1);
    b[10 + hl - 1] = '\n';
    tlr_err err = {0};
    int nd;
    int64_t sh[TLR_NPY_MAX_DIMS];
    float *v = tlr_npy_read_mem(b, len, "bad.npy", &nd, sh, &err);
    int as_expected = code == TLR_OK ? v != NULL
                                     : v == NULL && err.code == code && strstr(err.msg, needle) &&
                                           strncmp(err.msg, "bad.npy: ", 9) == 0;
    CHECK(as_expected,
          "header <%s>: want code %d with '%s', got %s code %d '%s'", hdr, (int)code, needle,
          v ? "success" : "failure", (int)err.code, err.msg);
    free(v);
    free(b);
}

static void rejects_bad_headers(void)
{
    const char *good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    expect_bad_header(good, 24, TLR_OK, ""); /* sanity: the template itself is valid */
    expect_bad_header(good, 20, TLR_E_FORMAT, "data is 20 bytes");
    expect_bad_header(good, 28, TLR_E_FORMAT, "need 24");
    expect_bad_header("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", 8,
                      TLR_E_UNSUPPORTED, "'<i4'");
    expect_bad_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", 8,
                      TLR_E_FORMAT, "not a tuple");
    expect_bad_header("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", 8,
                      TLR_E_FORMAT, "expected a dimension");
    expect_bad_header("{'descr': '<f4', 'fortran_order': False, 'shape': (02,), }", 8,
                      TLR_E_FORMAT, "leading zero");
    expect_bad_header("{'descr': '<f4', 'fortran_order': False}", 4, TLR_E_FORMAT,
                      "missing key");
    expect_bad_header("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': ()}",
                      4, TLR_E_FORMAT, "duplicate key 'descr'");
    expect_bad_header("{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}", 4,
                      TLR_E_FORMAT, "unexpected key 'x'");
    expect_bad_header("{'descr': '<f4', 'fortran_order': Falsey, 'shape': ()}", 4,
                      TLR_E_FORMAT, "True or False");
    expect_bad_header("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2)}", 16,
                      TLR_E_UNSUPPORTED, "fortran_order");
    expect_bad_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1)}",
                      4, TLR_E_UNSUPPORTED, "more than 8");
    expect_bad_header("{'descr': '<f4', 'fortran_order': False, "
                      "'shape': (99999999999999999999,)}",
                      4, TLR_E_LIMIT, "too large");
    expect_bad_header("{'descr': '<f4', 'fortran_order': False, "
                      "'shape': (4000000000000000000, 4000000000000000000)}",
                      4, TLR_E_LIMIT, "too large");
    expect_bad_header("{'descr': '<f4', 'fortran_order': False, 'shape': ()} x", 4,
                      TLR_E_FORMAT, "text after the dict");
    expect_bad_header("{'descr': '<f4\\n', 'fortran_order': False, 'shape': ()}", 4,
                      TLR_E_FORMAT, "escape");
    expect_bad_header("{'descr': '<f4, 'fortran_order': False, 'shape': ()}", 4,
                      TLR_E_UNSUPPORTED, "dtype '<f4, '");
    expect_bad_header("{'descr': '<f4}", 4, TLR_E_FORMAT, "unterminated string");
    expect_bad_header("{'descr' '<f4'}", 4, TLR_E_FORMAT, "expected ':'");
    expect_bad_header("{'descr': '<f4' 'shape': ()}", 4, TLR_E_FORMAT, "expected ',' or '}'");
    expect_bad_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2 3)}", 4,
                      TLR_E_FORMAT, "expected ',' or ')'");
    expect_bad_header("", 4, TLR_E_FORMAT, "expected '{'");
    expect_bad_header("{'descr': '<f4', 'fortran_order': False, 'shape': ()\t\x01}", 4,
                      TLR_E_FORMAT, "non-printable");
    /* A 1-D fortran-order array has the same layout as C order: accepted. */
    expect_bad_header("{'descr': '<f4', 'fortran_order': True, 'shape': (3,), }", 12, TLR_OK,
                      "");
}

static void expect_bad_bytes(const unsigned char *b, size_t len, tlr_status code,
                             const char *needle, const char *what)
{
    tlr_err err = {0};
    int nd;
    int64_t sh[TLR_NPY_MAX_DIMS];
    float *v = tlr_npy_read_mem(b, len, NULL, &nd, sh, &err);
    CHECK(v == NULL && err.code == code && strstr(err.msg, needle), "%s: got code %d '%s'",
          what, (int)err.code, err.msg);
    free(v);
}

static void rejects_bad_preambles(void)
{
    expect_bad_bytes(NULL, 0, TLR_E_FORMAT, "bad magic", "empty");
    expect_bad_bytes((const unsigned char *)"PK\x03\x04zipzipzip", 12, TLR_E_FORMAT,
                     "<memory>: not a .npy", "zip magic");
    expect_bad_bytes((const unsigned char *)"\x93NUMPY\x09\x00\x10\x00", 10,
                     TLR_E_UNSUPPORTED, "version 9.0", "future version");
    expect_bad_bytes((const unsigned char *)"\x93NUMPY\x01\x00\x00\x00", 10, TLR_E_FORMAT,
                     "length 0", "zero header length");
    expect_bad_bytes((const unsigned char *)"\x93NUMPY\x01\x00\x40\x00{", 11, TLR_E_FORMAT,
                     "truncated npy header", "header longer than file");
    expect_bad_bytes((const unsigned char *)"\x93NUMPY\x02\x00\xff\xff\xff\x7f{", 13,
                     TLR_E_FORMAT, "out of range", "v2 header length 2 GiB");
    expect_bad_bytes((const unsigned char *)"\x93NUMPY\x02\x00\x10", 9, TLR_E_FORMAT,
                     "truncated npy preamble", "v2 preamble cut");
    expect_bad_bytes((const unsigned char *)"\x93NUMPY\x01\x00\x02\x00{}", 12, TLR_E_FORMAT,
                     "newline", "header without newline");

    tlr_err err = {0};
    int nd;
    int64_t sh[TLR_NPY_MAX_DIMS];
    OK(tlr_npy_read("/nonexistent/dir/x.npy", &nd, sh, &err) == NULL && err.code == TLR_E_IO,
       "missing file is an I/O error");
    STR_CONTAINS(err.msg, "/nonexistent/dir/x.npy: cannot open", "message names the path");
    const int64_t s1[1] = {2};
    float two[2] = {1, 2};
    INT_EQ(tlr_npy_write("/nonexistent/dir/x.npy", 1, s1, two, &err), TLR_E_IO,
           "unwritable path");
    const int64_t neg[2] = {2, -1};
    INT_EQ(tlr_npy_write("/tmp/never.npy", 2, neg, two, &err), TLR_E_SHAPE, "negative dim");
    INT_EQ(tlr_npy_write("/tmp/never.npy", 9, neg, two, &err), TLR_E_USAGE, "rank 9");
}

/* Every prefix of a valid file and every single-byte corruption of its header must give
 * either a clean error or a result, never a crash (run under ASan/UBSan). */
static void survives_truncation_and_corruption(void)
{
    size_t len = 0;
    unsigned char *b = (unsigned char *)tlr_t_slurp(fixture("f8_5.npy"), &len);
    OK(b != NULL && len > 128, "fixture readable");
    if (!b)
        return;
    int nd, fails = 0;
    int64_t sh[TLR_NPY_MAX_DIMS];
    tlr_err err = {0};
    for (size_t cut = 0; cut < len; cut++) {
        float *v = tlr_npy_read_mem(b, cut, "cut", &nd, sh, &err);
        fails += v != NULL;
        free(v);
    }
    INT_EQ(fails, 0, "every truncated prefix is rejected");
    static const unsigned char subst[] = {0, '\n', ' ', '\'', '(', ')', ',', '9', '}', 0xff};
    int ok_count = 0;
    for (size_t i = 0; i < 128; i++) {
        for (size_t k = 0; k < sizeof subst; k++) {
            unsigned char *c = malloc(len);
            memcpy(c, b, len);
            c[i] = subst[k];
            float *v = tlr_npy_read_mem(c, len, "mut", &nd, sh, &err);
            ok_count += v != NULL;
            free(v);
            free(c);
        }
    }
    OK(ok_count < 128 * 10, "most corruptions rejected (and none crashed)");
    free(b);
}

/* Every reference activation listed in tests/ref/numeric/<model>/manifest.json (written by
 * numpy from the oracles' float64 runs) must load with the manifest's shape and finite
 * values; softmax outputs must sum to 1 per row (mini_vgg ends in a sigmoid). */
static void reads_reference_tree(void)
{
    static const char *const models[] = {"mini_vgg", "branches", "mnv2_mini", "seqflat",
                                         "nested_functional", "merges_misc", "extra_layers",
                                         "conv1d"};
    int files = 0, bad_shape = 0, bad_value = 0;
    for (size_t m = 0; m < sizeof models / sizeof *models; m++) {
        char path[1400];
        snprintf(path, sizeof path, "%s/tests/ref/numeric/%s/manifest.json", tlr_t_root(),
                 models[m]);
        size_t len = 0;
        char *text = (char *)tlr_t_slurp(path, &len);
        CHECK(text != NULL, "%s missing", path);
        if (!text)
            continue;
        tlr_err err = {0};
        tlr_json *j = tlr_json_parse(text, len, path, &err);
        free(text);
        OK(j != NULL, err.msg);
        for (tlr_json *l = tlr_json_first(tlr_json_get(j, "layers")); l; l = tlr_json_next(l)) {
            snprintf(path, sizeof path, "%s/tests/ref/numeric/%s/%s.npy", tlr_t_root(),
                     models[m], tlr_json_key(l));
            int nd = -1;
            int64_t sh[TLR_NPY_MAX_DIMS];
            float *v = tlr_npy_read(path, &nd, sh, &err);
            CHECK(v != NULL, "%s", err.msg);
            if (!v)
                continue;
            files++;
            int64_t n = 1;
            int same = nd == (int)tlr_json_size(l);
            for (int d = 0; same && d < nd; d++) {
                same = sh[d] == (int64_t)tlr_json_number(tlr_json_at(l, (size_t)d), -1);
                n *= sh[d];
            }
            bad_shape += !same;
            for (int64_t i = 0; same && i < n; i++)
                bad_value += !isfinite(v[i]);
            if (same && strcmp(tlr_json_key(l), "__output__0") == 0 && m > 0) {
                double sum = 0;
                for (int64_t i = 0; i < n; i++)
                    sum += (double)v[i];
                NEAR(sum, 1.0, 1e-5, models[m]);
            }
            free(v);
        }
        tlr_json_free(j);
    }
    CHECK(files >= 150, "only %d reference files read", files);
    INT_EQ(bad_shape, 0, "reference shapes match their manifests");
    INT_EQ(bad_value, 0, "reference values are finite");
}

void test_npy(void)
{
    reads_numpy_float32();
    reads_numpy_float64_as_float32();
    reads_version2_bigendian_scalar_empty();
    writes_like_numpy();
    round_trips_through_a_file();
    rejects_bad_headers();
    rejects_bad_preambles();
    survives_truncation_and_corruption();
    reads_reference_tree();
}
