/* test_evaluation.c - labelled folders: the listing (classes in sorted or labels order),
 * slices that cover the listing in whole blocks, and the reduction: "best N" lists ordered by
 * (score, index) and a merge of two halves equal to one pass over everything. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "input/dataset.h"
#include "report/evaluation.h"

static void listing(void)
{
    char root[512];
    snprintf(root, sizeof root, "%s/tests/fixtures/eval/colours", tlr_t_root());
    OK(tlr_dataset_is_labelled(root), "the colour folder is labelled");
    char flat[512];
    snprintf(flat, sizeof flat, "%s/tests/fixtures/images/scan", tlr_t_root());
    OK(!tlr_dataset_is_labelled(flat), "a folder with images at its top is not");
    tlr_dataset ds;
    tlr_err err = { 0 };
    OK(tlr_dataset_scan(root, NULL, &ds, &err) == TLR_OK, err.msg);
    INT_EQ(ds.classes.n, 3, "three classes");
    STR_EQ(ds.classes.items[0], "blue", "sorted: blue first");
    INT_EQ(ds.n_items, 26, "25 readable images and the truncated PNG");
    STR_EQ(ds.items[0].rel, "blue/blue_00.png", "first item");
    INT_EQ(ds.items[25].cls, 2, "last item is red");
    INT_EQ(ds.notes.n, 1, "one note: the text file");
    STR_CONTAINS(ds.notes.items[0], "green/notes.txt", "notes are relative to the folder");
    for (int n = 1; n <= 7; n++) {
        int64_t next = 0;
        for (int k = 1; k <= n; k++) {
            int64_t b, e;
            tlr_dataset_slice(&ds, k, n, &b, &e);
            CHECK(b == next && b % TLR_DATASET_BLOCK == 0 && e >= b, "slice %d/%d: [%lld, %lld)",
                  k, n, (long long)b, (long long)e);
            next = e;
        }
        CHECK(next == ds.n_items, "slices of %d cover %lld items", n, (long long)next);
    }
    tlr_strlist labels = TLR_STRLIST_INIT;
    tlr_strlist_push(&labels, "red");
    tlr_strlist_push(&labels, "green");
    tlr_strlist_push(&labels, "blue");
    tlr_strlist_push(&labels, "grey");
    tlr_dataset dl;
    OK(tlr_dataset_scan(root, &labels, &dl, &err) == TLR_OK, err.msg);
    STR_EQ(dl.classes.items[0], "red", "labels order");
    INT_EQ(dl.classes.n, 4, "a label without a folder is a class with no images");
    STR_CONTAINS(dl.items[0].rel, "red/", "red images first");
    OK(dl.fingerprint != ds.fingerprint, "another order, another fingerprint");
    tlr_dataset_free(&dl);
    labels.n--; /* drop "grey"... */
    free(labels.items[labels.n]);
    free(labels.items[--labels.n]); /* ...and "blue": its folder then matches no label */
    OK(tlr_dataset_scan(root, &labels, &dl, &err) == TLR_E_USAGE, "a folder without a label");
    STR_CONTAINS(err.msg, "'blue'", "the error names the folder");
    tlr_strlist_free(&labels);
    tlr_dataset_free(&ds);
}

/* A synthetic pass: image i of 40 has class i % 3, output favouring (i * 7) % 3, and a
 * score that repeats (ties broken by index). */
static void feed(tlr_eval *ev, int from, int to)
{
    for (int i = from; i < to; i++) {
        float y[3] = { 0.1f, 0.1f, 0.1f };
        y[(i * 7) % 3] = 0.5f + 0.01f * (float)(i % 5);
        int pred;
        float conf;
        tlr_eval_count(ev, y, 3, i % 3, &pred, &conf);
        char rel[32];
        snprintf(rel, sizeof rel, "c/%02d.png", i);
        if (pred != i % 3)
            tlr_eval_offer(&ev->mistakes, i, rel, i % 3, pred, conf, NULL);
        ev->n_filters = 2;
        tlr_eval_offer(&ev->filters[0], i, rel, i % 3, pred, (float)(i % 4), NULL);
        tlr_eval_offer(&ev->filters[1], i, rel, i % 3, pred, (float)-i, NULL);
        if (i % 9 == 4)
            tlr_eval_skip_add(ev, i, rel);
    }
}

static int same_best(const tlr_eval_best *a, const tlr_eval_best *b)
{
    if (a->n != b->n)
        return 0;
    for (int i = 0; i < a->n; i++)
        if (a->items[i].index != b->items[i].index || a->items[i].score != b->items[i].score)
            return 0;
    return 1;
}

static void reduction(void)
{
    tlr_strlist cls = TLR_STRLIST_INIT;
    tlr_strlist_push(&cls, "a");
    tlr_strlist_push(&cls, "b");
    tlr_strlist_push(&cls, "c");
    tlr_eval *whole = tlr_eval_new(&cls, 0, "conv", 3);
    tlr_eval *first = tlr_eval_new(&cls, 0, "conv", 3);
    tlr_eval *second = tlr_eval_new(&cls, 0, "conv", 3);
    feed(whole, 0, 40);
    feed(second, 17, 40); /* the later half first: order must not matter */
    feed(first, 0, 17);
    tlr_err err = { 0 };
    OK(tlr_eval_merge(second, first, &err) == TLR_OK, err.msg);
    OK(memcmp(whole->confusion, second->confusion, 9 * sizeof *whole->confusion) == 0,
       "confusion of the merge");
    OK(memcmp(whole->topk_hits, second->topk_hits, sizeof whole->topk_hits) == 0, "top-k hits");
    OK(same_best(&whole->mistakes, &second->mistakes), "mistakes of the merge");
    OK(same_best(&whole->filters[0], &second->filters[0]), "filter 0 of the merge (ties)");
    OK(same_best(&whole->filters[1], &second->filters[1]), "filter 1 of the merge");
    INT_EQ(whole->filters[0].items[0].index, 3, "ties: the lowest index first");
    INT_EQ(whole->filters[0].items[1].index, 7, "then the next");
    INT_EQ(second->n_skips, whole->n_skips, "skips of the merge");
    for (int i = 0; i < whole->n_skips; i++)
        INT_EQ(second->skips[i].index, whole->skips[i].index, "skips in index order");
    INT_EQ(whole->n_evaluated, 40, "every image counted");
    tlr_eval *other = tlr_eval_new(&cls, 0, "dense", 3);
    OK(tlr_eval_merge(second, other, &err) == TLR_E_USAGE, "parts for another layer do not merge");
    tlr_eval_free(other);
    tlr_eval_free(whole);
    tlr_eval_free(first);
    tlr_eval_free(second);
    tlr_strlist_free(&cls);
}

void test_evaluation(void)
{
    listing();
    reduction();
}
