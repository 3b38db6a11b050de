/* test_labels.c - labels files (plain and Teachable Machine) and top-k selection. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "io/labels.h"

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
}

static void labels_files(void)
{
    char path[512];
    tlr_err err = { 0 };
    snprintf(path, sizeof path, "%s/tm.txt", tlr_t_tmpdir());
    write_file(path, "\xEF\xBB\xBF" "0 Naranja madura\r\n1 Naranja verde\r\n2 Fondo\r\n\r\n");
    tlr_strlist l = TLR_STRLIST_INIT;
    OK(tlr_labels_read(path, &l, &err) == TLR_OK, "Teachable Machine labels");
    INT_EQ(l.n, 3, "three labels, trailing empty line ignored");
    STR_EQ(l.items[0], "Naranja madura", "index prefix and BOM dropped");
    STR_EQ(l.items[2], "Fondo", "last label");
    tlr_strlist_free(&l);

    snprintf(path, sizeof path, "%s/plain.txt", tlr_t_tmpdir());
    write_file(path, "cat\n1 dog\nbird\n");
    OK(tlr_labels_read(path, &l, &err) == TLR_OK, "plain labels");
    INT_EQ(l.n, 3, "three plain labels");
    STR_EQ(l.items[1], "1 dog", "a numbered line among plain ones is kept as is");
    tlr_strlist_free(&l);

    /* a 5000-byte line is not silently split into two labels */
    snprintf(path, sizeof path, "%s/long.txt", tlr_t_tmpdir());
    char *longline = calloc(5004, 1); /* 5000 x, "\ny\n", NUL */
    memset(longline, 'x', 5000);
    strcat(longline, "\ny\n");
    write_file(path, longline);
    free(longline);
    OK(tlr_labels_read(path, &l, &err) == TLR_E_FORMAT, "overlong line refused");
    STR_CONTAINS(err.msg, "long.txt: line 1 is longer than", "names file and line");
    tlr_strlist_free(&l);
    /* the longest lines that fit: 4094 bytes + CRLF, and 4095 bytes without a newline */
    char *fit = calloc(4100, 1);
    memset(fit, 'a', 4094);
    strcat(fit, "\r\nb\n");
    write_file(path, fit);
    OK(tlr_labels_read(path, &l, &err) == TLR_OK && l.n == 2 && strlen(l.items[0]) == 4094,
       "4094 bytes + CRLF is one label");
    tlr_strlist_free(&l);
    memset(fit, 0, 4100);
    memset(fit, 'a', 4095);
    write_file(path, fit);
    OK(tlr_labels_read(path, &l, &err) == TLR_OK && l.n == 1 && strlen(l.items[0]) == 4095,
       "a last line of 4095 bytes without a newline is one label");
    tlr_strlist_free(&l);
    free(fit);

    snprintf(path, sizeof path, "%s/none.txt", tlr_t_tmpdir());
    OK(tlr_labels_read(path, &l, &err) == TLR_E_IO, "missing labels file");
    STR_CONTAINS(err.msg, "none.txt", "error names the file");
}

static void top_k(void)
{
    const float v[] = { 0.1f, 0.7f, 0.05f, 0.7f, 0.15f };
    int idx[5];
    INT_EQ(tlr_top_k(v, 5, 3, idx), 3, "k of 5");
    INT_EQ(idx[0], 1, "largest, lower index first on a tie");
    INT_EQ(idx[1], 3, "the tied second");
    INT_EQ(idx[2], 4, "third");
    INT_EQ(tlr_top_k(v, 2, 5, idx), 2, "k larger than n");
    INT_EQ(idx[0], 1, "order with k > n");
    INT_EQ(idx[1], 0, "order with k > n (2)");
    INT_EQ(tlr_top_k(v, 5, 0, idx), 0, "k = 0");
}

static tlr_strlist list_of(const char *a, const char *b, const char *c)
{
    tlr_strlist l = TLR_STRLIST_INIT;
    const char *v[] = { a, b, c };
    for (int i = 0; i < 3 && v[i]; i++)
        tlr_strlist_push(&l, v[i]);
    return l;
}

static void check_counts(void)
{
    tlr_err err = { 0 };
    tlr_strlist three = list_of("a", "b", "c"), two = list_of("cat", "dog", NULL);
    tlr_strlist none = TLR_STRLIST_INIT;
    OK(tlr_labels_check(&three, 3, "l.txt", &err) == TLR_OK, "3 labels fit 3 outputs");
    OK(tlr_labels_check(&none, 7, "l.txt", &err) == TLR_OK, "no labels fit anything");
    OK(tlr_labels_check(&two, 1, "l.txt", &err) == TLR_OK, "2 labels fit a sigmoid output");
    OK(tlr_labels_check(&three, 1, "l.txt", &err) == TLR_E_SHAPE, "3 labels, 1 output");
    STR_CONTAINS(err.msg, "l.txt: 3 labels for a model output of 1 value", "names file and counts");
    OK(tlr_labels_check(&two, 1000, "l.txt", &err) == TLR_E_SHAPE, "2 labels, 1000 outputs");
    STR_CONTAINS(err.msg, "2 labels for a model output of 1000 values", "plural message");
    tlr_strlist_free(&three);
    tlr_strlist_free(&two);
}

/* A sigmoid p is P(class 1): Keras's binary_crossentropy convention. */
static void rank_binary(void)
{
    tlr_strlist two = list_of("cat", "dog", NULL), one = list_of("dog", NULL, NULL);
    tlr_strlist none = TLR_STRLIST_INIT;
    tlr_ranked r[4];
    const float p = 0.25f, q = 0.75f;
    INT_EQ(tlr_labels_rank(&p, 1, &two, 5, 1, r), 2, "two rows for a sigmoid");
    STR_EQ(r[0].label, "cat", "p = 0.25: class 0 first");
    NEAR(r[0].p, 0.75, 1e-7, "class 0 at 1 - p");
    STR_EQ(r[1].label, "dog", "class 1 second");
    NEAR(r[1].p, 0.25, 1e-7, "class 1 at p");
    INT_EQ(tlr_labels_rank(&q, 1, &two, 1, 1, r), 1, "k = 1 keeps the best");
    STR_EQ(r[0].label, "dog", "p = 0.75: class 1 first");
    INT_EQ(tlr_labels_rank(&q, 1, &none, 5, 1, r), 2, "no labels: still both classes");
    INT_EQ(r[0].index, 1, "class 1 by index");
    OK(r[0].label == NULL, "unnamed");
    INT_EQ(tlr_labels_rank(&p, 1, &one, 5, 1, r), 1, "one label names class 1 alone");
    NEAR(r[0].p, 0.25, 1e-7, "its probability is p");
    INT_EQ(tlr_labels_rank(&p, 1, &none, 5, 0, r), 1, "a linear output: one value");
    NEAR(r[0].p, 0.25, 1e-7, "shown as is");
    const float v[] = { 0.2f, 0.5f, 0.3f };
    tlr_strlist three = list_of("a", "b", "c");
    INT_EQ(tlr_labels_rank(v, 3, &three, 2, 0, r), 2, "softmax top 2");
    STR_EQ(r[0].label, "b", "best");
    STR_EQ(r[1].label, "c", "second");
    tlr_strlist_free(&two);
    tlr_strlist_free(&one);
    tlr_strlist_free(&three);
}

void test_labels(void)
{
    labels_files();
    top_k();
    check_counts();
    rank_binary();
}
