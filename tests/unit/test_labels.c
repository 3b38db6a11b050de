/* test_labels.c - labels files (plain and Teachable Machine) and top-k selection. */
#include <stdlib.h>

#include "harness.h"
#include "labels.h"

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

void test_labels(void)
{
    labels_files();
    top_k();
}
