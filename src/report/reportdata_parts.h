/* reportdata_parts.h - what the files of the report-data stage share; not an API for other
 * stages.  reportdata.c assembles the document and owns the figures and number formats;
 * reportdata_storage.c, reportdata_kernels.c and reportdata_features.c each build sections. */
#ifndef TLR_REPORTDATA_PARTS_H
#define TLR_REPORTDATA_PARTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"
#include "base/image.h"
#include "base/json.h"
#include "engine/reverse.h"
#include "input/input.h"
#include "keras/kfile.h"
#include "report/reportdata.h"
#include "report/storage.h"

/* o[key] = v and o[key + "_str"] = "15,321,281". */
void tlr_rd_add_count(tlr_json *o, const char *key, int64_t v);
/* "512 B", "1.50 KB", "58.45 MB". */
void tlr_rd_bytes_str(double b, char *out, size_t cap);
/* "(3, 3, 64, 128)" */
void tlr_rd_dims_str(int nd, const int64_t *d, char *out, size_t cap);
/* The last component of a path. */
const char *tlr_rd_base_name(const char *p);
/* File-name-safe version of a layer path: "vgg16/block2_conv2" -> "vgg16-block2_conv2". */
char *tlr_rd_slug(const char *path);
/* Keeps a copy of 'img' as the figure 'name' (encoded to PNG at the end, all at once). */
tlr_status tlr_rd_add_figure(tlr_report_content *c, const char *name, const tlr_image *img,
                             tlr_err *err);
/* Appends d.warnings[] = {"text": text} unless the same text is there already. */
void tlr_rd_add_warning(tlr_json *d, const char *text);

/* A layer chosen for a figure, with its path through nested models (owned). */
typedef struct {
    const tlr_layer *layer;
    char *path;
} tlr_rd_layer;

/* The layer at 'path' ("vgg16/block2_conv2"); TLR_E_USAGE naming it when there is none. */
tlr_status tlr_rd_resolve_layer(const tlr_model *m, const char *path, tlr_rd_layer *out,
                                tlr_err *err);

/* --kernels LAYER, or the default choice; out->path stays NULL when the model has none. */
tlr_status tlr_rd_choose_kernel_layer(const tlr_model *m, const char *asked, tlr_rd_layer *out,
                                      tlr_err *err);

/* d.storage: Pregunta 1, from the file's anatomy. */
void tlr_rd_storage_section(tlr_json *d, const tlr_kfile *f, const tlr_storage *st);

/* d.kernels: the kernel grid of the chosen convolution (*chosen, path owned by the caller;
 * empty when the model has none) and the first layer's colour tiles. */
tlr_status tlr_rd_kernels_section(tlr_json *d, const tlr_kfile *f, const tlr_report_request *rq,
                                  tlr_report_content *c, tlr_rd_layer *chosen, tlr_err *err);

/* Grad-CAM passes made by the features section, whose forward pass is then the Grad-CAM's
 * too, for the Grad-CAM section: the results of images [i0, i0 + n). */
typedef struct {
    int i0, n;
    tlr_grad_result r;
} tlr_rd_cam_run;

typedef struct {
    char *layer;            /* the Grad-CAM layer; NULL: no Grad-CAM to share */
    tlr_grad_request rq;    /* what the Grad-CAM section asks for */
    tlr_rd_cam_run *runs;
    int n_runs;
} tlr_rd_cam_runs;

/* What the Grad-CAM section will ask of the engine (cam->layer NULL when it will not run or
 * would stop on a usage error first). */
void tlr_rd_gradcam_plan(const tlr_kfile *f, const tlr_report_request *rq, tlr_rd_cam_runs *cam);
void tlr_rd_cam_runs_free(tlr_rd_cam_runs *cam);

/* d.features and d.predictions: the forward pass over the sample images, a Grad-CAM pass
 * (kept in 'cam') when the Grad-CAM section will want one of the same images. */
tlr_status tlr_rd_features_section(tlr_json *d, const tlr_kfile *f, const tlr_report_request *rq,
                                   const tlr_input *inputs, int n_inputs,
                                   const tlr_rd_layer *kern_layer, tlr_report_content *c,
                                   tlr_rd_cam_runs *cam, FILE *log, tlr_err *err);

/* d.comparison (--compare, reportdata_compare.c): rq->compare against this model, with the
 * first sample images through both; adds the chart (SVG) to the figures. */
tlr_status tlr_rd_comparison_section(tlr_json *d, const tlr_kfile *f,
                                     const tlr_report_request *rq, const tlr_input *inputs,
                                     int n_inputs, tlr_report_content *c, FILE *log,
                                     tlr_err *err);

/* d.checks (--check, reportdata_checks.c): rq->checks measured on 'd' (which must hold
 * everything else already) and, for predict, on 'inputs'. */
tlr_status tlr_rd_checks_section(tlr_json *d, const tlr_kfile *f, const tlr_report_request *rq,
                                 const tlr_input *inputs, int n_inputs, tlr_err *err);

/* d.unbound, d.subclassed, d.opaque_layers (and d.model, d.layers of a subclassed model):
 * what of the file could only be described, from its anatomy (reportdata_degrade.c). */
void tlr_rd_degrade_tree_section(tlr_json *d, const tlr_kfile *f, const tlr_storage *st);

/* d.features.unfit (inputs that cannot feed the model) and d.preprocess.flatten (images fed
 * to a flat input); after the features and preprocess sections. */
void tlr_rd_degrade_input_section(tlr_json *d, const tlr_kfile *f, const tlr_report_request *rq,
                                  const tlr_input *inputs, int n_inputs);

/* d.evaluation: the labelled folder's results and their figures. */
tlr_status tlr_rd_eval_section(tlr_json *d, const struct tlr_eval *ev, tlr_report_content *c,
                               tlr_err *err);

/* d.patterns: the inputs that most excite the first rq->patterns filters of the kernels
 * layer, by gradient ascent (reportdata_patterns.c). */
tlr_status tlr_rd_patterns_section(tlr_json *d, const tlr_kfile *f,
                                   const tlr_report_request *rq, const tlr_input_opts *io,
                                   const tlr_rd_layer *kern_layer, tlr_report_content *c,
                                   FILE *log, tlr_err *err);

/* d.gradcam: where the network looks, a Grad-CAM heatmap over each sample image
 * (reportdata_gradcam.c). */
tlr_status tlr_rd_gradcam_section(tlr_json *d, const tlr_kfile *f, const tlr_report_request *rq,
                                  const tlr_input *inputs, int n_inputs, tlr_report_content *c,
                                  tlr_rd_cam_runs *cam, FILE *log, tlr_err *err);

/* Adds an SVG document (taken) as the figure 'name'; after the PNG figures are encoded. */
void tlr_rd_add_svg(tlr_report_content *c, const char *name, char *svg);

/* d.diagram (reportdata_pictures.c): the architecture drawing of 'm' and of each nested
 * model, as SVG figures; after the PNG figures are encoded. */
void tlr_rd_diagram_section(tlr_json *d, const tlr_model *m, tlr_report_content *c);

/* d.weights_stats[] and d.wstats: statistics and histograms (one SVG) of every conv/dense
 * kernel; after the PNG figures are encoded. */
void tlr_rd_wstats_section(tlr_json *d, const tlr_model *m, tlr_report_content *c);

/* Keeps in lay.dead_filters the channels of an (h, w, ch) activation that are constant on
 * this image and were on every image before. */
void tlr_rd_dead_filters_note(tlr_json *lay, const float *hwc, int64_t h, int64_t w, int64_t ch);

/* fe.has_dead_filters, fe.dead_filters_count and fe.dead_filters_str from fe.dead_filters. */
void tlr_rd_dead_filters_finish(tlr_json *fe);

#endif
