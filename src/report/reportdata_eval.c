/* reportdata_eval.c - d.evaluation: accuracy, per-class scores, top-k, the confusion matrix
 * (table and picture), the most confident mistakes and what each filter likes, from a
 * finished evaluation (report/evaluation.h). */
#include "report/reportdata_parts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "report/evaluation.h"
#include "report/grid.h"

static void add_ratio(tlr_json *o, const char *key, int64_t num, int64_t den, int percent)
{
    char k[64], s[32];
    snprintf(k, sizeof k, "%s_str", key);
    if (den == 0) {
        tlr_json_add_string(o, k, "-");
        return;
    }
    double v = (double)num / (double)den;
    if (percent)
        snprintf(s, sizeof s, "%.1f%%", 100.0 * v);
    else
        snprintf(s, sizeof s, "%.3f", v);
    tlr_json_add_string(o, k, s);
}

static int64_t cell(const tlr_eval *ev, int t, int p)
{
    return ev->confusion[(size_t)t * (size_t)ev->n_classes + (size_t)p];
}

/* accuracy, counts, classes and the confusion matrix as numbers (report.json's contract). */
static void totals(tlr_json *e, const tlr_eval *ev)
{
    int64_t correct = 0;
    tlr_json *cls = tlr_json_add_array(e, "classes");
    tlr_json *conf = tlr_json_add_array(e, "confusion");
    for (int t = 0; t < ev->n_classes; t++) {
        tlr_json_push_string(cls, ev->classes.items[t]);
        tlr_json *row = tlr_json_push_array(conf);
        for (int p = 0; p < ev->n_classes; p++)
            tlr_json_push_number(row, (double)cell(ev, t, p));
        correct += cell(ev, t, t);
    }
    tlr_json_add_number(e, "accuracy", ev->n_evaluated ? (double)correct / (double)ev->n_evaluated : 0);
    add_ratio(e, "accuracy", correct, ev->n_evaluated, 1);
    tlr_json_add_string(e, "folder", ev->folder ? ev->folder : "");
    tlr_json_add_number(e, "class_count", ev->n_classes);
    tlr_json_add_bool(e, "binary", ev->binary);
    tlr_rd_add_count(e, "correct", correct);
    tlr_rd_add_count(e, "evaluated", ev->n_evaluated);
    tlr_rd_add_count(e, "files", ev->n_items + ev->n_unlisted);
    tlr_rd_add_count(e, "skipped", ev->n_skips + ev->n_unlisted);
}

/* Precision, recall and F1 per class, and their unweighted means. */
static void per_class(tlr_json *e, const tlr_eval *ev)
{
    tlr_json *arr = tlr_json_add_array(e, "per_class");
    double sp = 0, sr = 0, sf = 0;
    for (int c = 0; c < ev->n_classes; c++) {
        int64_t tp = cell(ev, c, c), pred = 0, support = 0;
        for (int k = 0; k < ev->n_classes; k++) {
            pred += cell(ev, k, c);
            support += cell(ev, c, k);
        }
        double p = pred ? (double)tp / (double)pred : 0, r = support ? (double)tp / (double)support : 0;
        double f1 = p + r > 0 ? 2 * p * r / (p + r) : 0;
        sp += p, sr += r, sf += f1;
        tlr_json *o = tlr_json_push_object(arr);
        char s[32];
        tlr_json_add_number(o, "index", c);
        tlr_json_add_string(o, "name", ev->classes.items[c]);
        add_ratio(o, "precision", tp, pred, 0);
        add_ratio(o, "recall", tp, support, 0);
        snprintf(s, sizeof s, "%.3f", f1);
        tlr_json_add_string(o, "f1_str", pred || support ? s : "-");
        tlr_rd_add_count(o, "support", support);
    }
    tlr_json *m = tlr_json_add_object(e, "macro");
    char s[32];
    int n = ev->n_classes ? ev->n_classes : 1;
    snprintf(s, sizeof s, "%.3f", sp / n);
    tlr_json_add_string(m, "precision_str", s);
    snprintf(s, sizeof s, "%.3f", sr / n);
    tlr_json_add_string(m, "recall_str", s);
    snprintf(s, sizeof s, "%.3f", sf / n);
    tlr_json_add_string(m, "f1_str", s);
}

/* Top-k accuracy for 2 <= k < classes (k = classes would always be 100%). */
static void topk(tlr_json *e, const tlr_eval *ev)
{
    tlr_json *arr = tlr_json_add_array(e, "topk");
    for (int k = 2; !ev->binary && k <= TLR_EVAL_TOPK && k < ev->n_classes; k++) {
        tlr_json *o = tlr_json_push_object(arr);
        tlr_json_add_number(o, "k", k);
        add_ratio(o, "accuracy", ev->topk_hits[k], ev->n_evaluated, 1);
    }
}

/* The confusion matrix for the Markdown table: a header and rows of cells. */
static void confusion_table(tlr_json *e, const tlr_eval *ev)
{
    tlr_json *head = tlr_json_add_array(e, "confusion_header");
    tlr_json *rows = tlr_json_add_array(e, "confusion_rows");
    for (int t = 0; t < ev->n_classes; t++) {
        tlr_json_add_string(tlr_json_push_object(head), "name", ev->classes.items[t]);
        tlr_json *r = tlr_json_push_object(rows);
        tlr_json_add_string(r, "name", ev->classes.items[t]);
        tlr_json *cells = tlr_json_add_array(r, "cells");
        for (int p = 0; p < ev->n_classes; p++) {
            tlr_json *c = tlr_json_push_object(cells);
            tlr_json_add_number(c, "count", (double)cell(ev, t, p));
            tlr_json_add_bool(c, "diagonal", t == p);
        }
    }
}

/* The matrix as a picture: one square per cell, coloured (viridis) by the share of its row,
 * so each true class reads the same whatever its size. */
static tlr_image *confusion_image(const tlr_eval *ev)
{
    int n = ev->n_classes, side = n ? 480 / n : 1;
    side = side < 2 ? 2 : side > 48 ? 48 : side;
    int gap = side >= 8 ? 1 : 0, px = n * side + (n - 1) * gap;
    tlr_image *img = tlr_image_new(px, px, 3);
    memset(img->data, 255, (size_t)px * (size_t)px * 3);
    for (int t = 0; t < n; t++) {
        int64_t total = 0;
        for (int p = 0; p < n; p++)
            total += cell(ev, t, p);
        for (int p = 0; p < n; p++) {
            int level = total ? (int)lround(255.0 * (double)cell(ev, t, p) / (double)total) : 0;
            const uint8_t *rgb = tlr_grid_viridis(level);
            for (int y = 0; y < side; y++)
                for (int x = 0; x < side; x++)
                    memcpy(&img->data[(((size_t)t * (size_t)(side + gap) + (size_t)y) * (size_t)px +
                                       (size_t)p * (size_t)(side + gap) + (size_t)x) * 3], rgb, 3);
        }
    }
    return img;
}

static void mistakes(tlr_json *e, const tlr_eval *ev, tlr_report_content *c, tlr_err *err)
{
    tlr_json *arr = tlr_json_add_array(e, "mistakes");
    for (int i = 0; i < ev->mistakes.n; i++) {
        const tlr_eval_pick *p = &ev->mistakes.items[i];
        tlr_json *o = tlr_json_push_object(arr);
        char s[32];
        tlr_json_add_number(o, "rank", i + 1);
        tlr_json_add_string(o, "source", p->rel);
        tlr_json_add_string(o, "true_class", ev->classes.items[p->true_cls]);
        tlr_json_add_string(o, "predicted_class", ev->classes.items[p->pred_cls]);
        snprintf(s, sizeof s, "%.4f", (double)p->score);
        tlr_json_add_string(o, "confidence_str", s);
        if (p->thumb) {
            char *name = tlr_xasprintf("img/mistake-%d.png", i + 1);
            tlr_rd_add_figure(c, name, p->thumb, err);
            tlr_json_add_string(o, "image", name);
            free(name);
        }
    }
}

/* Draws thumbnail 't' at the top left of grid cell (row, col). */
static void put_thumb(tlr_image *img, const tlr_image *t, int row, int col, int gap)
{
    int x0 = col * (TLR_EVAL_THUMB + gap), y0 = row * (TLR_EVAL_THUMB + gap);
    for (int y = 0; y < t->h && y0 + y < img->h; y++)
        for (int x = 0; x < t->w && x0 + x < img->w; x++)
            memcpy(&img->data[((size_t)(y0 + y) * (size_t)img->w + (size_t)(x0 + x)) * 3],
                   &t->data[((size_t)y * (size_t)t->w + (size_t)x) * 3], 3);
}

/* One row per filter, its most exciting images left to right. */
static tlr_image *filters_image(const tlr_eval *ev)
{
    const int gap = 4;
    int w = TLR_EVAL_PER_FILTER * (TLR_EVAL_THUMB + gap) - gap;
    int h = ev->n_filters * (TLR_EVAL_THUMB + gap) - gap;
    tlr_image *img = tlr_image_new(w, h, 3);
    memset(img->data, 255, (size_t)w * (size_t)h * 3);
    for (int f = 0; f < ev->n_filters; f++)
        for (int i = 0; i < ev->filters[f].n; i++)
            if (ev->filters[f].items[i].thumb)
                put_thumb(img, ev->filters[f].items[i].thumb, f, i, gap);
    return img;
}

static void filters(tlr_json *e, const tlr_eval *ev, tlr_report_content *c, tlr_err *err)
{
    tlr_json *fo = tlr_json_add_object(e, "filters");
    int present = ev->filter_layer && ev->n_filters > 0;
    tlr_json_add_bool(fo, "present", present);
    tlr_json_add_string(fo, "layer", ev->filter_layer ? ev->filter_layer : "");
    tlr_json_add_number(fo, "channels", (double)ev->layer_channels);
    tlr_json_add_number(fo, "shown", ev->n_filters);
    tlr_json_add_number(fo, "per_filter", TLR_EVAL_PER_FILTER);
    tlr_json *rows = tlr_json_add_array(fo, "rows");
    for (int f = 0; f < ev->n_filters; f++) {
        tlr_json *r = tlr_json_push_object(rows);
        tlr_json_add_number(r, "filter", f);
        tlr_json *imgs = tlr_json_add_array(r, "images");
        for (int i = 0; i < ev->filters[f].n; i++) {
            const tlr_eval_pick *p = &ev->filters[f].items[i];
            tlr_json *o = tlr_json_push_object(imgs);
            char s[32];
            tlr_json_add_string(o, "source", p->rel);
            tlr_json_add_string(o, "class", ev->classes.items[p->true_cls]);
            snprintf(s, sizeof s, "%.4g", (double)p->score);
            tlr_json_add_string(o, "mean_str", s);
        }
    }
    if (present) {
        tlr_image *img = filters_image(ev);
        tlr_rd_add_figure(c, "img/eval-filters.png", img, err);
        tlr_image_free(img);
        tlr_json_add_string(fo, "image", "img/eval-filters.png");
    }
}

tlr_status tlr_rd_eval_section(tlr_json *d, const tlr_eval *ev, tlr_report_content *c,
                               tlr_err *err)
{
    tlr_json *e = tlr_json_add_object(d, "evaluation");
    tlr_json_add_bool(e, "present", 1);
    totals(e, ev);
    per_class(e, ev);
    topk(e, ev);
    confusion_table(e, ev);
    tlr_image *img = confusion_image(ev);
    tlr_status st = tlr_rd_add_figure(c, "img/confusion.png", img, err);
    tlr_image_free(img);
    tlr_json_add_string(e, "confusion_image", "img/confusion.png");
    mistakes(e, ev, c, err);
    filters(e, ev, c, err);
    return st;
}
