/* test_image.c - PNG/JPEG decoding against Pillow's decodes, PNG encoding, limits and
 * corrupt files, folder scanning. Fixtures and references: tests/gen/make_image_fixtures.py. */
#include <stdlib.h>
#include <sys/stat.h>

#include "harness.h"
#include "input/image_scan.h"
#include "input/preprocess.h"
#include "io/image_io.h"

static char *fixture(const char *name)
{
    static char path[4][1024];
    static int slot;
    slot = (slot + 1) % 4;
    snprintf(path[slot], sizeof path[slot], "%s/tests/fixtures/images/%s", tlr_t_root(), name);
    return path[slot];
}

/* Compares bytes; returns the largest absolute difference (or 999 on a size mismatch). */
static int max_diff(const uint8_t *got, size_t got_len, const uint8_t *want, size_t want_len,
                    size_t *first_bad)
{
    if (got_len != want_len)
        return 999;
    int worst = 0;
    *first_bad = 0;
    for (size_t i = 0; i < got_len; i++) {
        int d = abs((int)got[i] - (int)want[i]);
        if (d > worst) {
            if (worst == 0)
                *first_bad = i;
            worst = d;
        }
    }
    return worst;
}

/* Every line of tests/ref/images/decode.txt: name format width height channels. */
static void decodes_like_pillow(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/ref/images/decode.txt", tlr_t_root());
    FILE *m = fopen(path, "r");
    OK(m != NULL, "decode manifest present");
    if (!m)
        return;
    char line[256];
    int cases = 0;
    while (fgets(line, sizeof line, m)) {
        char name[64], fmt[8];
        int w, h, ch;
        if (line[0] == '#' || sscanf(line, "%63s %7s %d %d %d", name, fmt, &w, &h, &ch) != 5)
            continue;
        cases++;
        char file[128];
        snprintf(file, sizeof file, "%s.%s", name, fmt);
        tlr_err err = {0};
        tlr_image *img = tlr_image_load(fixture(file), NULL, &err);
        CHECK(img != NULL, "%s: decode failed: %s", name, err.msg);
        if (!img)
            continue;
        CHECK(img->w == w && img->h == h && img->channels == ch, "%s: got %dx%d c%d, want %dx%d c%d",
              name, img->w, img->h, img->channels, w, h, ch);
        /* 4-channel decodes compare with Pillow's RGBA, the others through RGB. */
        tlr_image *cmp = ch == 4 ? NULL : tlr_preprocess_to_rgb(img);
        const tlr_image *got = cmp ? cmp : img;
        char ref[1024];
        snprintf(ref, sizeof ref, "%s/tests/ref/images/%s.%s", tlr_t_root(), name,
                 ch == 4 ? "rgba" : "rgb");
        size_t want_len = 0;
        unsigned char *want = (unsigned char *)tlr_t_slurp(ref, &want_len);
        CHECK(want != NULL, "%s: reference %s missing", name, ref);
        if (want) {
            size_t at = 0;
            size_t got_len = (size_t)got->w * (size_t)got->h * (size_t)got->channels;
            int d = max_diff(got->data, got_len, want, want_len, &at);
            int tol = fmt[0] == 'j' ? 2 : 0; /* JPEG decoders may differ in rounding */
            CHECK(d <= tol, "%s: max pixel difference %d > %d vs Pillow (first at byte %zu: got %d want %d)",
                  name, d, tol, at, at < got_len ? got->data[at] : -1, at < want_len ? want[at] : -1);
        }
        free(want);
        tlr_image_free(cmp);
        tlr_image_free(img);
    }
    fclose(m);
    INT_EQ(cases, 33, "decode cases in manifest");
}

static void memory_and_file_agree(void)
{
    size_t len = 0;
    unsigned char *data = (unsigned char *)tlr_t_slurp(fixture("p4_trns.png"), &len);
    tlr_err err = {0};
    tlr_image *a = tlr_image_decode(data, len, "mem", NULL, &err);
    tlr_image *b = tlr_image_load(fixture("p4_trns.png"), NULL, &err);
    OK(a && b && a->w == b->w && a->channels == b->channels &&
           memcmp(a->data, b->data, (size_t)a->w * (size_t)a->h * (size_t)a->channels) == 0,
       "decode from memory equals load from file");
    /* Interlaced and progressive files give the same pixels as their plain versions. */
    tlr_image *i = tlr_image_load(fixture("p8_trns_i.png"), NULL, &err);
    tlr_image *p = tlr_image_load(fixture("p8_trns.png"), NULL, &err);
    OK(i && p && memcmp(i->data, p->data, (size_t)p->w * (size_t)p->h * 4) == 0,
       "Adam7 interlaced equals non-interlaced");
    tlr_image_free(a);
    tlr_image_free(b);
    tlr_image_free(i);
    tlr_image_free(p);
    free(data);
}

/* Fails with 'code' and a message containing 'needle'. */
static void expect_fail(const char *name, tlr_status code, const char *needle)
{
    tlr_err err = {0};
    char file[128];
    snprintf(file, sizeof file, "bad/%s", name);
    const char *path = fixture(file);
    tlr_image *img = tlr_image_load(path, NULL, &err);
    CHECK(img == NULL, "%s: decoded but should fail", name);
    tlr_image_free(img);
    CHECK(err.code == code, "%s: code %s, want %s (%s)", name, tlr_strerror(err.code),
          tlr_strerror(code), err.msg);
    STR_CONTAINS(err.msg, needle, name);
    STR_CONTAINS(err.msg, path, "message names the file");
}

static void rejects_bad_files(void)
{
    expect_fail("trunc_sig.png", TLR_E_FORMAT, "not a PNG or JPEG image");
    expect_fail("trunc_ihdr.png", TLR_E_FORMAT, "invalid PNG: file is truncated");
    expect_fail("trunc_idat.png", TLR_E_FORMAT, "invalid PNG");
    expect_fail("crc.png", TLR_E_FORMAT, "invalid PNG");
    expect_fail("zlib.png", TLR_E_FORMAT, "invalid PNG");
    expect_fail("sig_only.png", TLR_E_FORMAT, "invalid PNG");
    expect_fail("trunc_half.jpg", TLR_E_FORMAT, "invalid JPEG");
    expect_fail("trunc_scan.jpg", TLR_E_FORMAT, "invalid JPEG: Premature end of JPEG file");
    expect_fail("trunc_header.jpg", TLR_E_FORMAT, "invalid JPEG: no image frame");
    expect_fail("soi_only.jpg", TLR_E_FORMAT, "invalid JPEG");
    expect_fail("empty.png", TLR_E_FORMAT, "empty file");
    expect_fail("text.png", TLR_E_FORMAT, "not a PNG or JPEG image");
    expect_fail("gif.gif", TLR_E_UNSUPPORTED, "GIF images are not supported");
    expect_fail("bomb_100000.png", TLR_E_LIMIT,
                "image 100000x100000 exceeds the limit of 65535 pixels per side");
    expect_fail("bomb_20000.png", TLR_E_LIMIT,
                "image 20000x20000 exceeds the limit of 100000000 pixels");
    expect_fail("bomb.jpg", TLR_E_LIMIT, "image 60000x60000 exceeds the limit of 100000000");

    tlr_err err = {0};
    OK(tlr_image_load(fixture("no_such_file.png"), NULL, &err) == NULL && err.code == TLR_E_IO,
       "missing file is an I/O error");
    STR_CONTAINS(err.msg, "cannot open", "missing file message");
    OK(tlr_image_load(fixture("bad"), NULL, &err) == NULL && err.code == TLR_E_IO,
       "a folder is not an image file");

    /* Caller-chosen limits: rgb8.png is 13x7 = 91 pixels. */
    tlr_image_limits few = {.max_pixels = 90};
    OK(tlr_image_load(fixture("rgb8.png"), &few, &err) == NULL && err.code == TLR_E_LIMIT,
       "91 pixels over a 90-pixel limit");
    STR_CONTAINS(err.msg, "image 13x7 exceeds the limit of 90 pixels", "pixel limit message");
    tlr_image_limits narrow = {.max_side = 12};
    OK(tlr_image_load(fixture("j_gray.jpg"), &narrow, &err) == NULL && err.code == TLR_E_LIMIT,
       "JPEG side limit");
    STR_CONTAINS(err.msg, "image 19x12 exceeds the limit of 12 pixels per side", "side message");
    tlr_image_limits exact = {.max_pixels = 91, .max_side = 13};
    tlr_image *ok = tlr_image_load(fixture("rgb8.png"), &exact, &err);
    OK(ok != NULL, "limits are inclusive");
    tlr_image_free(ok);

    /* Every prefix of a valid file fails cleanly (no crash, no leak under ASan). */
    size_t len = 0;
    unsigned char *data = (unsigned char *)tlr_t_slurp(fixture("rgba16_i.png"), &len);
    int failed = 0;
    for (size_t n = 0; n < len - 12; n += 7) { /* cutting before IEND's 12 bytes */
        tlr_image *img = tlr_image_decode(data, n, "cut", NULL, &err);
        failed += img == NULL;
        tlr_image_free(img);
    }
    INT_EQ(failed, (int)((len - 12 + 6) / 7), "every truncated PNG prefix fails");
    free(data);
    data = (unsigned char *)tlr_t_slurp(fixture("j_prog.jpg"), &len);
    failed = 0;
    for (size_t n = 0; n < len - 2; n += 5) {
        tlr_image *img = tlr_image_decode(data, n, "cut", NULL, &err);
        failed += img == NULL;
        tlr_image_free(img);
    }
    INT_EQ(failed, (int)((len - 2 + 4) / 5), "every truncated JPEG prefix fails");
    free(data);
}

static tlr_image *pattern(int w, int h, int channels, unsigned seed)
{
    tlr_image *img = tlr_image_new(w, h, channels);
    size_t n = (size_t)w * (size_t)h * (size_t)channels;
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        img->data[i] = (uint8_t)(seed >> 16);
    }
    return img;
}

static void png_round_trip(void)
{
    static const int chans[3] = {1, 3, 4};
    for (int c = 0; c < 3; c++) {
        tlr_image *img = pattern(37, 23, chans[c], 7u + (unsigned)c);
        tlr_err err = {0};
        unsigned char *png = NULL, *again = NULL;
        size_t len = 0, len2 = 0;
        INT_EQ(tlr_image_encode_png(img, &png, &len, &err), TLR_OK, "encode");
        INT_EQ(tlr_image_encode_png(img, &again, &len2, &err), TLR_OK, "encode again");
        OK(len == len2 && memcmp(png, again, len) == 0, "two encodes give identical bytes");
        OK(tlr_image_sniff(png, len) == TLR_IMAGE_PNG, "output is a PNG");
        int has_time = 0;
        for (size_t i = 0; i + 4 <= len; i++)
            has_time |= memcmp(png + i, "tIME", 4) == 0;
        OK(!has_time, "no tIME chunk");
        tlr_image *back = tlr_image_decode(png, len, "mem", NULL, &err);
        OK(back && back->w == 37 && back->h == 23 && back->channels == chans[c] &&
               memcmp(back->data, img->data, (size_t)37 * 23 * (size_t)chans[c]) == 0,
           "PNG round trip is lossless");

        char path[512];
        snprintf(path, sizeof path, "%s/rt%d.png", tlr_t_tmpdir(), chans[c]);
        INT_EQ(tlr_image_write_png(img, path, &err), TLR_OK, "write_png");
        size_t flen = 0;
        unsigned char *file = (unsigned char *)tlr_t_slurp(path, &flen);
        OK(file && flen == len && memcmp(file, png, len) == 0, "file bytes equal memory bytes");
        free(file);
        remove(path);
        tlr_image_free(back);
        free(png);
        free(again);
        tlr_image_free(img);
    }

    tlr_err err = {0};
    tlr_image *two = tlr_image_new(2, 2, 2);
    unsigned char *png = NULL;
    size_t len = 0;
    INT_EQ(tlr_image_encode_png(two, &png, &len, &err), TLR_E_SHAPE, "2 channels rejected");
    OK(png == NULL && len == 0, "nothing returned on error");
    tlr_image_free(two);
    tlr_image *one = tlr_image_new(1, 1, 3);
    INT_EQ(tlr_image_write_png(one, "/nonexistent-dir/x.png", &err), TLR_E_IO, "unwritable path");
    STR_CONTAINS(err.msg, "/nonexistent-dir/x.png: cannot create", "write error names path");
    tlr_image_free(one);
}

static void scans_folders(void)
{
    const char *root = fixture("scan");
    const char *args[1] = {root};
    char **files = NULL, **warn = NULL;
    int n = 0, nw = 0;
    tlr_err err = {0};
    INT_EQ(tlr_image_scan(args, 1, &files, &n, &warn, &nw, &err), TLR_OK, "scan folder");
    static const char *const want[] = {"B/c.png", "a.jpeg", "a/deep/er/x.png", "b/a.jpg",
                                       "b/z.png", "image.dat"};
    INT_EQ(n, 6, "images found (hidden, text and fake.png skipped)");
    for (int i = 0; i < n && i < 6; i++) {
        char full[1024];
        snprintf(full, sizeof full, "%s/%s", root, want[i]);
        STR_EQ(files[i], full, "bytewise path order");
    }
    INT_EQ(nw, 2, "two warnings");
    if (nw == 2) {
        STR_CONTAINS(warn[0], "scan/fake.png: not a PNG or JPEG image, skipped", "warning 1");
        STR_CONTAINS(warn[1], "scan/notes.txt: not a PNG or JPEG image", "warning 2");
    }
    tlr_image_scan_free(files, n);
    tlr_image_scan_free(warn, nw);

    /* Files keep argument order, before or after folders; warnings may be ignored. */
    const char *mixed[3] = {fixture("rgb8.png"), fixture("scan/b"), fixture("g1.png")};
    INT_EQ(tlr_image_scan(mixed, 3, &files, &n, NULL, NULL, &err), TLR_OK, "scan mixed");
    INT_EQ(n, 4, "two files + two in scan/b");
    if (n == 4) {
        STR_EQ(files[0], mixed[0], "first argument first");
        STR_CONTAINS(files[1], "scan/b/a.jpg", "folder contents in place");
        STR_CONTAINS(files[2], "scan/b/z.png", "folder contents sorted");
        STR_EQ(files[3], mixed[2], "last argument last");
    }
    tlr_image_scan_free(files, n);

    const char *missing[1] = {fixture("scan/nope")};
    INT_EQ(tlr_image_scan(missing, 1, &files, &n, &warn, &nw, &err), TLR_E_IO, "missing path");
    OK(files == NULL && n == 0 && warn == NULL && nw == 0, "nothing returned on error");
    STR_CONTAINS(err.msg, "scan/nope", "error names the path");
    const char *text[2] = {fixture("rgb8.png"), fixture("scan/notes.txt")};
    INT_EQ(tlr_image_scan(text, 2, &files, &n, &warn, &nw, &err), TLR_E_FORMAT,
           "named non-image file");
    STR_CONTAINS(err.msg, "notes.txt: not a PNG or JPEG image", "named file message");
    OK(files == NULL && n == 0, "nothing returned on error");

    /* Sniffing is by content only. */
    OK(tlr_image_sniff("\xff\xd8\xff\xe0", 4) == TLR_IMAGE_JPEG, "JPEG magic");
    OK(tlr_image_sniff("\x89PNG\r\n\x1a", 7) == TLR_IMAGE_UNKNOWN, "7 bytes of PNG signature");
}

void test_image(void)
{
    decodes_like_pillow();
    memory_and_file_agree();
    rejects_bad_files();
    png_round_trip();
    scans_folders();
}
