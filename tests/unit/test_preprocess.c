/* test_preprocess.c - colour conversion and resizing byte-identical to Pillow (references
 * from tests/gen/make_image_fixtures.py), input scaling against hand-computed float32 values. */
#include <stdlib.h>

#include "harness.h"
#include "input/preprocess.h"
#include "io/image_io.h"

static tlr_image *load(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/%s/%s", tlr_t_root(), dir, name);
    tlr_err err = {0};
    tlr_image *img = tlr_image_load(path, NULL, &err);
    CHECK(img != NULL, "load %s: %s", name, err.msg);
    return img;
}

/* Byte-exact comparison, reporting how many bytes differ and the first one. */
static void same_image(const tlr_image *got, const tlr_image *want, const char *what)
{
    if (!got || !want) {
        CHECK(0, "%s: missing image", what);
        return;
    }
    if (got->w != want->w || got->h != want->h || got->channels != want->channels) {
        CHECK(0, "%s: got %dx%d c%d, want %dx%d c%d", what, got->w, got->h, got->channels,
              want->w, want->h, want->channels);
        return;
    }
    size_t n = (size_t)got->w * (size_t)got->h * (size_t)got->channels, bad = 0, first = 0;
    for (size_t i = 0; i < n; i++)
        if (got->data[i] != want->data[i] && bad++ == 0)
            first = i;
    CHECK(bad == 0, "%s: %zu of %zu bytes differ from Pillow (first at %zu: got %d want %d)",
          what, bad, n, first, bad ? got->data[first] : 0, bad ? want->data[first] : 0);
}

/* Every line of tests/ref/images/resize.txt: ref source method w h mode box. */
static void resizes_like_pillow(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/ref/images/resize.txt", tlr_t_root());
    FILE *m = fopen(path, "r");
    OK(m != NULL, "resize manifest present");
    if (!m)
        return;
    char line[256];
    int cases = 0;
    while (fgets(line, sizeof line, m)) {
        char ref[96], src[64], method[16], mode[4], boxs[64];
        int w, h;
        if (line[0] == '#' ||
            sscanf(line, "%95s %63s %15s %d %d %3s %63s", ref, src, method, &w, &h, mode, boxs) != 7)
            continue;
        cases++;
        tlr_resize_method rm;
        tlr_err err = {0};
        INT_EQ(tlr_resize_method_parse(method, &rm, &err), TLR_OK, method);
        char name[128];
        snprintf(name, sizeof name, "%s.png", src);
        tlr_image *in = load("fixtures/images", name);
        snprintf(name, sizeof name, "%s.png", ref);
        tlr_image *want = load("ref/images", name);
        if (!in || !want) {
            tlr_image_free(in);
            tlr_image_free(want);
            continue;
        }
        tlr_image *conv = mode[0] == 'L' ? tlr_preprocess_to_gray(in) : tlr_preprocess_to_rgb(in);
        tlr_image *got;
        float box[4];
        if (sscanf(boxs, "%f,%f,%f,%f", &box[0], &box[1], &box[2], &box[3]) == 4) {
            got = tlr_preprocess_resize_box(conv, box, w, h, rm);
            /* The fixture's box is keras's keep_aspect_ratio box: check ours agrees. */
            int b[4];
            tlr_preprocess_center_box(conv->w, conv->h, w, h, b);
            OK(b[0] == (int)box[0] && b[1] == (int)box[1] && b[2] == (int)box[2] &&
                   b[3] == (int)box[3], "center box equals keras's");
            tlr_image *center = tlr_preprocess_resize_center(conv, w, h, rm);
            same_image(center, want, ref);
            tlr_image_free(center);
        } else {
            got = tlr_preprocess_resize(conv, w, h, rm);
        }
        same_image(got, want, ref);
        tlr_image_free(got);
        tlr_image_free(conv);
        tlr_image_free(in);
        tlr_image_free(want);
    }
    fclose(m);
    INT_EQ(cases, 36, "resize cases in manifest");
}

static void hand_resizes(void)
{
    /* Worked by hand from Pillow's rules (and confirmed with Pillow 9.4):
     * NEAREST 2 -> 4 reads sources 0,0,1,1; 3 -> 2 reads (int)0.75 = 0 and (int)2.25 = 2.
     * BILINEAR 2 -> 4 over [0, 255]: output centres 0.25, 0.75, 1.25, 1.75 in source pixels;
     * weights (1), (.75, .25), (.25, .75), (1) -> 0, 63.75, 191.25, 255, and in 22-bit fixed
     * point with +0.5: 64 and 191. */
    tlr_image *two = tlr_image_new(2, 1, 1);
    two->data[1] = 255;
    tlr_image *n = tlr_preprocess_resize(two, 4, 1, TLR_PIL_NEAREST);
    tlr_image *b = tlr_preprocess_resize(two, 4, 1, TLR_PIL_BILINEAR);
    OK(n->data[0] == 0 && n->data[1] == 0 && n->data[2] == 255 && n->data[3] == 255,
       "nearest 2 -> 4");
    OK(b->data[0] == 0 && b->data[1] == 64 && b->data[2] == 191 && b->data[3] == 255,
       "bilinear 2 -> 4");
    tlr_image_free(n);
    tlr_image_free(b);
    tlr_image_free(two);

    tlr_image *three = tlr_image_new(3, 1, 3);
    for (int i = 0; i < 9; i++)
        three->data[i] = (uint8_t)(10 * (i + 1));
    n = tlr_preprocess_resize(three, 2, 1, TLR_PIL_NEAREST);
    OK(n->data[0] == 10 && n->data[2] == 30 && n->data[3] == 70 && n->data[5] == 90,
       "nearest 3 -> 2 picks pixels 0 and 2");
    tlr_image_free(n);
    /* Same size: a copy. */
    b = tlr_preprocess_resize(three, 3, 1, TLR_PIL_BILINEAR);
    OK(memcmp(b->data, three->data, 9) == 0 && b->data != three->data, "same size copies");
    tlr_image_free(b);
    tlr_image_free(three);

    /* Centre boxes, keras keep_aspect_ratio arithmetic. */
    int box[4];
    tlr_preprocess_center_box(300, 200, 224, 224, box);
    OK(box[0] == 50 && box[1] == 0 && box[2] == 250 && box[3] == 200, "landscape -> square");
    tlr_preprocess_center_box(200, 301, 224, 224, box);
    OK(box[0] == 0 && box[1] == 50 && box[2] == 200 && box[3] == 250, "portrait -> square");
    tlr_preprocess_center_box(300, 200, 40, 90, box); /* crop_w = 200*40//90 = 88 */
    OK(box[0] == 106 && box[1] == 0 && box[2] == 194 && box[3] == 200, "tall target");
    tlr_preprocess_center_box(64, 64, 32, 32, box);
    OK(box[0] == 0 && box[1] == 0 && box[2] == 64 && box[3] == 64, "same aspect keeps all");

    tlr_image *img = tlr_image_new(4, 3, 1);
    for (int i = 0; i < 12; i++)
        img->data[i] = (uint8_t)i;
    tlr_image *c = tlr_preprocess_crop(img, 1, 1, 2, 2);
    OK(c->w == 2 && c->h == 2 && c->data[0] == 5 && c->data[1] == 6 && c->data[2] == 9 &&
           c->data[3] == 10, "crop");
    tlr_image_free(c);
    tlr_image_free(img);
}

static void converts_colour(void)
{
    tlr_image *rgb = load("fixtures/images", "rgb_32x32.png");
    tlr_image *want = load("ref/images", "rgb_32x32_L.png");
    tlr_image *l = rgb ? tlr_preprocess_to_gray(rgb) : NULL;
    same_image(l, want, "convert L of random colours");
    tlr_image_free(l);
    tlr_image_free(want);
    tlr_image_free(rgb);
    rgb = load("fixtures/images", "rs_300x200.png");
    want = load("ref/images", "rs_300x200_L.png");
    l = rgb ? tlr_preprocess_to_gray(rgb) : NULL;
    same_image(l, want, "convert L of the structured image");
    tlr_image_free(l);
    tlr_image_free(want);
    tlr_image_free(rgb);

    /* Hand values: L of (255, 0, 0) = (255*19595 + 32768) >> 16 = 76; of (0, 255, 0) = 150;
     * of (0, 0, 255) = 29; alpha is ignored, gray stays gray. */
    tlr_image *px = tlr_image_new(4, 1, 4);
    const uint8_t v[16] = {255, 0, 0, 9, 0, 255, 0, 9, 0, 0, 255, 0, 77, 77, 77, 255};
    memcpy(px->data, v, 16);
    l = tlr_preprocess_to_gray(px);
    OK(l->data[0] == 76 && l->data[1] == 150 && l->data[2] == 29 && l->data[3] == 77, "L by hand");
    tlr_image *r = tlr_preprocess_to_rgb(px);
    OK(r->channels == 3 && r->data[0] == 255 && r->data[3] == 0 && r->data[4] == 255 &&
           r->data[9] == 77 && r->data[11] == 77, "RGBA -> RGB drops alpha");
    tlr_image *g = tlr_preprocess_to_rgb(l);
    OK(g->data[0] == 76 && g->data[1] == 76 && g->data[2] == 76 && g->data[5] == 150,
       "gray -> RGB replicates");
    tlr_image_free(g);
    tlr_image_free(r);
    tlr_image_free(l);
    tlr_image_free(px);
}

static void scales_inputs(void)
{
    /* Pixels (0, 128, 255) and (10, 20, 30). Expected values are float32 results of Keras's
     * numpy arithmetic, worked out per element (e.g. tf: 128 / 127.5 - 1 = 0.003921628). */
    tlr_image *img = tlr_image_new(2, 1, 3);
    const uint8_t px[6] = {0, 128, 255, 10, 20, 30};
    memcpy(img->data, px, 6);
    float out[6];
    tlr_err err = {0};
    struct {
        tlr_prep_mode mode;
        float want[6];
    } cases[] = {
        {TLR_PREP_NONE, {0.0f, 128.0f, 255.0f, 10.0f, 20.0f, 30.0f}},
        /* x * float32(1/255) */
        {TLR_PREP_RESCALE, {0.0f, 0.5019608f, 1.0f, 0.039215688f, 0.078431375f, 0.11764707f}},
        /* x / 127.5 - 1 */
        {TLR_PREP_TF, {-1.0f, 0.003921628f, 1.0f, -0.92156863f, -0.84313726f, -0.7647059f}},
        /* BGR minus (103.939, 116.779, 123.68): first pixel B=255, G=128, R=0 */
        {TLR_PREP_CAFFE, {151.061f, 11.221f, -123.68f, -73.939f, -96.779f, -113.68f}},
        /* (x / 255 - mean) / std */
        {TLR_PREP_TORCH, {-2.117904f, 0.2051822f, 2.64f, -1.9466565f, -1.6855742f, -1.2815686f}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        INT_EQ(tlr_preprocess_to_input(img, cases[i].mode, out, &err), TLR_OK, "to_input");
        FLOATS_NEAR(out, cases[i].want, 6, 1e-7, tlr_prep_mode_name(cases[i].mode));
    }
    tlr_image_free(img);

    tlr_image *gray = tlr_image_new(1, 1, 1);
    gray->data[0] = 51;
    INT_EQ(tlr_preprocess_to_input(gray, TLR_PREP_CAFFE, out, &err), TLR_E_SHAPE, "caffe gray");
    STR_CONTAINS(err.msg, "'caffe' needs 3 channels", "caffe message");
    INT_EQ(tlr_preprocess_to_input(gray, TLR_PREP_TORCH, out, &err), TLR_E_SHAPE, "torch gray");
    INT_EQ(tlr_preprocess_to_input(gray, TLR_PREP_RESCALE, out, &err), TLR_OK, "rescale gray");
    NEAR(out[0], 0.2f, 1e-7, "51 / 255");
    tlr_image_free(gray);
}

static void parses_names(void)
{
    tlr_err err = {0};
    for (int i = 0; i < TLR_PREP_COUNT; i++) {
        tlr_prep_mode m = TLR_PREP_COUNT;
        INT_EQ(tlr_prep_mode_parse(tlr_prep_mode_name((tlr_prep_mode)i), &m, &err), TLR_OK,
               "mode round trip");
        INT_EQ(m, i, "mode value");
    }
    STR_EQ(tlr_prep_mode_name(TLR_PREP_CAFFE), "caffe", "caffe name");
    STR_EQ(tlr_resize_method_name(TLR_PIL_BILINEAR), "bilinear", "bilinear name");
    tlr_prep_mode m;
    INT_EQ(tlr_prep_mode_parse("imagenet", &m, &err), TLR_E_USAGE, "unknown mode");
    STR_CONTAINS(err.msg, "unknown preprocess mode 'imagenet' (have: rescale, caffe, tf, torch, none)",
                 "mode message");
    tlr_resize_method r;
    INT_EQ(tlr_resize_method_parse("nearest", &r, &err), TLR_OK, "nearest");
    INT_EQ(r, TLR_PIL_NEAREST, "nearest value");
    INT_EQ(tlr_resize_method_parse("bicubic", &r, &err), TLR_E_USAGE, "bicubic unsupported");
    STR_CONTAINS(err.msg, "'bicubic' (have: nearest, bilinear)", "resize message");
}

void test_preprocess(void)
{
    resizes_like_pillow();
    hand_resizes();
    converts_colour();
    scales_inputs();
    parses_names();
}
