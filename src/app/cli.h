/* cli.h - command-line options into a plain struct (pure parsing, no I/O). */
#ifndef TLR_CLI_H
#define TLR_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

typedef enum {
    TLR_CMD_REPORT = 0,  /* the default: write the site */
    TLR_CMD_SUMMARY,
    TLR_CMD_LAYERS,
    TLR_CMD_STORAGE,
    TLR_CMD_INFO,        /* --json alone: everything about the model as JSON */
    TLR_CMD_PREDICT,
    TLR_CMD_DUMP,
    TLR_CMD_HELP,
    TLR_CMD_VERSION,
} tlr_command;

#define TLR_MAX_DUMPS 64

typedef struct {
    tlr_command cmd;
    const char *model;          /* first positional argument */
    const char **inputs;        /* image files or folders (borrowed from argv) */
    int n_inputs;
    const char *out_dir;        /* -o */
    const char *config_path;    /* --config */
    const char *weights_path;   /* --weights */
    int json;                   /* --json */
    int summary_style;          /* -1 auto, else tlr_summary_style */
    int expand_nested;
    int show_trainable;
    const char *named_inputs[TLR_MAX_DUMPS]; /* --input NAME=FILE.npy, as given */
    int n_named_inputs;
    int strict;                 /* --strict: a report with gaps exits with status 1 */
    /* images */
    int resize_bilinear;        /* --resize */
    int crop_center;            /* --crop center */
    int preprocess;             /* -1 auto, else tlr_preprocess_mode */
    /* outputs */
    const char *labels_path;
    int top_k;
    const char *dumps[TLR_MAX_DUMPS];
    int n_dumps;
    int class_index;            /* --class: the class Grad-CAM explains, -1 the predicted */
    const char *lambdas[TLR_MAX_DUMPS]; /* --lambda NAME=EXPR, as given */
    int n_lambdas;
    /* report */
    const char *kernels_layer;
    int kernel_rows, kernel_cols;
    int kernel_norm;            /* 0 kernel, 1 layer, 2 symmetric */
    const char *features_layer; /* NULL default, "all" */
    const char *gradcam_layer;  /* --gradcam: NULL default */
    int patterns;               /* --patterns: filter patterns drawn (0: none) */
    int max_images;
    int cmap_viridis;
    const char *lang;
    const char *template_dir;
    const char *title;
    const char *author;
    const char *date;
    int embed;
    int force;
    const char *compare_path;   /* --compare: the model before training */
    const char *check_path;     /* --check: expectations file */
    int quiet;
    int profile;
    int threads;
    int64_t max_memory;
    int shard_k, shard_n;       /* --shard K/N (shard_n 0: the whole folder) */
    int merge;                  /* --merge: the inputs are --shard results */
    const char *exe_path;       /* argv[0] */
    int progress;               /* stage-by-stage progress on stderr (set by main: a terminal) */
} tlr_options;

/* Fills 'o' from argv (argv strings are borrowed).  Returns TLR_OK, or TLR_E_USAGE with a
 * message.  o->inputs is allocated: free it with tlr_cli_free(). */
tlr_status tlr_cli_parse(int argc, char **argv, tlr_options *o, tlr_err *err);
void tlr_cli_free(tlr_options *o);

/* The --help text. */
const char *tlr_cli_usage(void);

#endif
