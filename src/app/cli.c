/* cli.c - option parsing.  Long options may be written --name=value or --name value. */
#include "app/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/dump_grad.h"
#include "base/xalloc.h"
#include "input/preprocess.h"
#include "report/summary.h"

static const char usage[] =
"usage: tlreport MODEL [IMAGES...] [-o DIR] [options]\n"
"\n"
"Reads a Keras model (HDF5 .h5 from Keras 1, 2, tf.keras or Keras 3, a .keras archive, or\n"
"architecture JSON plus weights) and a folder of sample images, and writes a static report:\n"
"DIR/index.html (its long lists whole in DIR/layers.html), DIR/report.md, DIR/report.json\n"
"and the figures in DIR/img/.\n"
"\n"
"Inspecting (print to standard output instead of writing a report):\n"
"  --summary              model.summary() exactly as the Keras that wrote the file printed it\n"
"  --summary-style STYLE  keras1 | keras2 | tf27 | tf213 | keras3 (default: the file's version)\n"
"  --expand-nested        also list the layers inside nested models\n"
"  --show-trainable       add the Trainable column to the summary\n"
"  --layers               layer count and index / name / output shape (Pregunta 2)\n"
"  --storage              how the file stores the model and its weights (Pregunta 1)\n"
"  --json                 the above as one JSON document\n"
"  --predict              print the model's output for each image\n"
"  --labels FILE          class names, one per line (Teachable Machine '0 name' too)\n"
"  --top K                classes shown per image with --labels (default 5)\n"
"  --dump LAYER           write LAYER's output for each image as .npy into -o DIR\n"
"                         (repeatable; nested paths like vgg16/block2_conv2);\n"
"                         gradcam:LAYER writes the Grad-CAM heatmap of LAYER (H, W),\n"
"                         grad:LAYER:FILTER the gradient of FILTER's mean activation\n"
"                         with respect to the input\n"
"  --class C              class whose score Grad-CAM explains (default: the predicted one)\n"
"\n"
"Model files:\n"
"  --config FILE          architecture JSON for a weights-only HDF5 file\n"
"  --weights FILE         weights HDF5 for an architecture JSON file\n"
"  --lambda LAYER=FORMULA the formula of a Lambda layer, which the file holds only as\n"
"                         Python code: x, numbers, + - * /, abs exp log sqrt tanh sigmoid\n"
"                         relu min max (e.g. lambda_1='x/127.5-1'; repeatable)\n"
"\n"
"Images:\n"
"  --input NAME=FILE.npy  the array for the model input NAME, for models with several\n"
"                         inputs (repeatable: one per input)\n"
"  --resize nearest|bilinear   resampling to the model's input size (default nearest, as\n"
"                         keras.utils.load_img)\n"
"  --crop center|none     centre-crop to the input's aspect ratio first (default none)\n"
"  --preprocess MODE      rescale (x/255) | caffe | tf (x/127.5-1) | torch | none\n"
"                         (default rescale; none when the model starts with Rescaling)\n"
"\n"
"Report:\n"
"  -o, --output DIR       where to write the report (default: site)\n"
"  --kernels LAYER        convolution whose kernels are drawn (default: block2_conv2 of a\n"
"                         nested VGG base, e.g. vgg16/block2_conv2, when present, else the\n"
"                         first convolution with >= 2 input channels)\n"
"  --kernel-grid RxC      filters x input channels shown (default 10x20)\n"
"  --kernel-norm MODE     kernel | layer | symmetric (default kernel)\n"
"  --features LAYER|all   layer whose feature maps are drawn (default: the kernels layer)\n""  --gradcam LAYER        layer of the Grad-CAM heatmaps (default: the last convolution\n"
"                         with a map of at least 3x3, e.g. vgg16/block5_conv3)\n"
"  --patterns N           filter patterns drawn for the kernels layer (default 16, 0: none)\n"
"  --max-images N         sample images in the report (default 3)\n"
"  --cmap gray|viridis    feature-map colours (default gray)\n"
"  --lang es|en           report language (default es)\n"
"  --template-dir DIR     use templates from DIR (falling back to the installed ones)\n"
"  --title TEXT, --author TEXT, --date TEXT\n"
"  --embed                put the images inside index.html as data: URIs\n"
"  --force                replace an existing output directory not made by tlreport\n"
"  --quiet                no progress messages\n"
"  --strict               exit with status 1 when the report has gaps (parts of the model\n"
"                         or inputs it could not use; each is a warning line on stderr)\n"
"\n"
"Comparing and checking (with the report):\n"
"  --compare BASE         what training changed: compare with BASE, the model before it\n"
"                         (any format), layer by layer, in a section of the report\n"
"  --check FILE           expectations to verify, one per line (see the README); each is\n"
"                         listed in the report and in DIR/summary.md\n"
"\n"
"Labelled folders (IMAGES is one folder with a subfolder per class):\n"
"  --shard K/N            evaluate slice K of N only and write that partial result\n"
"                         into -o DIR (for --merge)\n"
"  --merge                the arguments after MODEL are --shard results: build the\n"
"                         report from them (as one run over the whole folder would)\n"
"\n"
"Engine:\n"
"  --threads N            worker threads (default: all cores)\n"
"  --max-memory SIZE      activation memory budget, e.g. 512M, 4G (default 4G)\n"
"  --profile              print per-layer timings of the forward pass\n"
"\n"
"  -h, --help             this help\n"
"  --version              version\n"
"\n"
"Exit status: 0 success, 1 input or runtime error, 2 usage error, 3 a --check failed.\n";

const char *tlr_cli_usage(void)
{
    return usage;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_size(const char *s, int64_t *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v <= 0)
        return -1;
    double mult = 1;
    switch (*end) {
    case 'k': case 'K': mult = 1024.0; end++; break;
    case 'm': case 'M': mult = 1024.0 * 1024; end++; break;
    case 'g': case 'G': mult = 1024.0 * 1024 * 1024; end++; break;
    case '\0': break;
    default: return -1;
    }
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end || v * mult > 9e18)
        return -1;
    *out = (int64_t)(v * mult);
    return 0;
}

static void defaults(tlr_options *o)
{
    memset(o, 0, sizeof *o);
    o->summary_style = -1;
    o->preprocess = -1;
    o->top_k = 5;
    o->kernel_rows = 10;
    o->kernel_cols = 20;
    o->max_images = 3;
    o->lang = "es";
    o->max_memory = (int64_t)4 << 30;
    o->class_index = -1;
    o->patterns = 16;
}

/* Options that take a value; 'v' is set to it. */
static tlr_status take_value(int argc, char **argv, int *i, const char *arg, const char *name,
                             const char **v, tlr_err *err)
{
    const char *eq = strchr(arg, '=');
    if (eq) {
        *v = eq + 1;
        return TLR_OK;
    }
    if (*i + 1 >= argc)
        return tlr_err_set(err, TLR_E_USAGE, "option %s needs a value", name);
    *v = argv[++*i];
    return TLR_OK;
}

static int is_opt(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

static tlr_status set_command(tlr_options *o, tlr_command c, const char *arg, tlr_err *err)
{
    if (o->cmd != TLR_CMD_REPORT && o->cmd != c && o->cmd != TLR_CMD_INFO)
        return tlr_err_set(err, TLR_E_USAGE, "%s cannot be combined with the option given before it",
                           arg);
    o->cmd = c;
    return TLR_OK;
}

/* Each group below sets the option 'name' to 'v' and returns 1, or returns 0 when 'name'
 * belongs to another group; *st receives the result of the parse. */

static int model_opt(tlr_options *o, const char *name, const char *v, tlr_status *st,
                     tlr_err *err)
{
    if (strcmp(name, "-o") == 0 || strcmp(name, "--output") == 0) {
        o->out_dir = v;
    } else if (strcmp(name, "--config") == 0) {
        o->config_path = v;
    } else if (strcmp(name, "--weights") == 0) {
        o->weights_path = v;
    } else if (strcmp(name, "--summary-style") == 0) {
        o->summary_style = tlr_summary_style_parse(v);
        if (o->summary_style < 0)
            *st = tlr_err_set(err, TLR_E_USAGE, "--summary-style: unknown style '%s' (keras1, "
                              "keras2, tf27, tf213, keras3)", v);
    } else if (strcmp(name, "--lambda") == 0) {
        if (o->n_lambdas == TLR_MAX_DUMPS)
            *st = tlr_err_set(err, TLR_E_USAGE, "--lambda: at most %d layers", TLR_MAX_DUMPS);
        else if (!strchr(v, '=') || v[0] == '=')
            *st = tlr_err_set(err, TLR_E_USAGE, "--lambda: expected LAYER=FORMULA like "
                              "lambda_1='x/127.5-1', got '%s'", v);
        else
            o->lambdas[o->n_lambdas++] = v;
    } else {
        return 0;
    }
    return 1;
}

static int image_opt(tlr_options *o, const char *name, const char *v, tlr_status *st,
                     tlr_err *err)
{
    if (strcmp(name, "--resize") == 0) {
        if (strcmp(v, "nearest") && strcmp(v, "bilinear"))
            *st = tlr_err_set(err, TLR_E_USAGE, "--resize: expected nearest or bilinear, got '%s'", v);
        else
            o->resize_bilinear = strcmp(v, "bilinear") == 0;
    } else if (strcmp(name, "--crop") == 0) {
        if (strcmp(v, "center") && strcmp(v, "centre") && strcmp(v, "none"))
            *st = tlr_err_set(err, TLR_E_USAGE, "--crop: expected center or none, got '%s'", v);
        else
            o->crop_center = strcmp(v, "none") != 0;
    } else if (strcmp(name, "--input") == 0) {
        const char *eq = strchr(v, '=');
        if (o->n_named_inputs == TLR_MAX_DUMPS) /* = TLR_MAX_INPUTS */
            *st = tlr_err_set(err, TLR_E_USAGE, "--input: at most %d inputs", TLR_MAX_DUMPS);
        else if (!eq || eq == v || !eq[1])
            *st = tlr_err_set(err, TLR_E_USAGE, "--input: expected NAME=FILE.npy like "
                              "left_input=left.npy, got '%s'", v);
        else
            o->named_inputs[o->n_named_inputs++] = v;
    } else if (strcmp(name, "--preprocess") == 0) {
        tlr_prep_mode m;
        if (tlr_prep_mode_parse(v, &m, NULL))
            *st = tlr_err_set(err, TLR_E_USAGE, "--preprocess: unknown mode '%s' (rescale, caffe, "
                              "tf, torch, none)", v);
        else
            o->preprocess = (int)m;
    } else {
        return 0;
    }
    return 1;
}

static int output_opt(tlr_options *o, const char *arg, const char *name, const char *v,
                      tlr_status *st, tlr_err *err)
{
    if (strcmp(name, "--labels") == 0) {
        o->labels_path = v;
    } else if (strcmp(name, "--top") == 0) {
        if (parse_int(v, 1, 1000000, &o->top_k))
            *st = tlr_err_set(err, TLR_E_USAGE, "--top: expected a positive number, got '%s'", v);
    } else if (strcmp(name, "--dump") == 0) {
        if (o->n_dumps == TLR_MAX_DUMPS) {
            *st = tlr_err_set(err, TLR_E_USAGE, "--dump: at most %d layers", TLR_MAX_DUMPS);
        } else if (tlr_dump_is_grad(v) && (*st = tlr_dump_grad_check(v, err))) {
            return 1;
        } else {
            o->dumps[o->n_dumps++] = v;
            *st = set_command(o, TLR_CMD_DUMP, arg, err);
        }
    } else if (strcmp(name, "--class") == 0) {
        if (parse_int(v, 0, 100000000, &o->class_index))
            *st = tlr_err_set(err, TLR_E_USAGE, "--class: expected a class number (0, 1, ...), "
                              "got '%s'", v);
    } else if (strcmp(name, "--threads") == 0) {
        if (parse_int(v, 1, 256, &o->threads))
            *st = tlr_err_set(err, TLR_E_USAGE, "--threads: expected 1..256, got '%s'", v);
    } else if (strcmp(name, "--max-memory") == 0) {
        if (parse_size(v, &o->max_memory))
            *st = tlr_err_set(err, TLR_E_USAGE, "--max-memory: expected a size like 512M or 4G, "
                              "got '%s'", v);
    } else {
        return 0;
    }
    return 1;
}

/* The figures: which layers, how the grids look. */
static int figure_opt(tlr_options *o, const char *name, const char *v, tlr_status *st,
                      tlr_err *err)
{
    if (strcmp(name, "--kernels") == 0) {
        o->kernels_layer = v;
    } else if (strcmp(name, "--kernel-grid") == 0) {
        int r, c;
        char tail;
        if (sscanf(v, "%dx%d%c", &r, &c, &tail) != 2 || r < 1 || c < 1 || r > 1024 || c > 1024) {
            *st = tlr_err_set(err, TLR_E_USAGE, "--kernel-grid: expected ROWSxCOLS like 10x20, "
                              "got '%s'", v);
        } else {
            o->kernel_rows = r;
            o->kernel_cols = c;
        }
    } else if (strcmp(name, "--kernel-norm") == 0) {
        static const char *const norms[] = { "kernel", "layer", "symmetric" };
        int k = 0;
        while (k < 3 && strcmp(v, norms[k]) != 0)
            k++;
        if (k == 3)
            *st = tlr_err_set(err, TLR_E_USAGE, "--kernel-norm: expected kernel, layer or "
                              "symmetric, got '%s'", v);
        else
            o->kernel_norm = k;
    } else if (strcmp(name, "--features") == 0) {
        o->features_layer = v;
    } else if (strcmp(name, "--shard") == 0) {
        char tail;
        if (sscanf(v, "%d/%d%c", &o->shard_k, &o->shard_n, &tail) != 2 || o->shard_n < 1 ||
            o->shard_n > 100000 || o->shard_k < 1 || o->shard_k > o->shard_n)
            *st = tlr_err_set(err, TLR_E_USAGE, "--shard: expected K/N with 1 <= K <= N, like "
                              "2/8, got '%s'", v);
    } else if (strcmp(name, "--gradcam") == 0) {
        o->gradcam_layer = v;
    } else if (strcmp(name, "--patterns") == 0) {
        if (parse_int(v, 0, 1024, &o->patterns))
            *st = tlr_err_set(err, TLR_E_USAGE, "--patterns: expected 0..1024, got '%s'", v);
    } else if (strcmp(name, "--max-images") == 0) {
        if (parse_int(v, 1, 10000, &o->max_images))
            *st = tlr_err_set(err, TLR_E_USAGE, "--max-images: expected 1..10000, got '%s'", v);
    } else if (strcmp(name, "--cmap") == 0) {
        if (strcmp(v, "gray") && strcmp(v, "grey") && strcmp(v, "viridis"))
            *st = tlr_err_set(err, TLR_E_USAGE, "--cmap: expected gray or viridis, got '%s'", v);
        else
            o->cmap_viridis = strcmp(v, "viridis") == 0;
    } else {
        return 0;
    }
    return 1;
}

/* The page: language, templates and the words on it. */
static int page_opt(tlr_options *o, const char *name, const char *v, tlr_status *st,
                    tlr_err *err)
{
    if (strcmp(name, "--lang") == 0) {
        if (strcmp(v, "es") && strcmp(v, "en"))
            *st = tlr_err_set(err, TLR_E_USAGE, "--lang: expected es or en, got '%s'", v);
        else
            o->lang = v;
    } else if (strcmp(name, "--template-dir") == 0) {
        o->template_dir = v;
    } else if (strcmp(name, "--title") == 0) {
        o->title = v;
    } else if (strcmp(name, "--author") == 0) {
        o->author = v;
    } else if (strcmp(name, "--date") == 0) {
        o->date = v;
    } else if (strcmp(name, "--compare") == 0) {
        o->compare_path = v;
    } else if (strcmp(name, "--check") == 0) {
        o->check_path = v;
    } else {
        return 0;
    }
    return 1;
}

static tlr_status parse_value_opt(tlr_options *o, const char *arg, const char *name,
                                  const char *v, tlr_err *err)
{
    tlr_status st = TLR_OK;
    if (model_opt(o, name, v, &st, err) || image_opt(o, name, v, &st, err) ||
        output_opt(o, arg, name, v, &st, err) || figure_opt(o, name, v, &st, err) ||
        page_opt(o, name, v, &st, err))
        return st;
    return tlr_err_set(err, TLR_E_USAGE, "unknown option '%s'", arg);
}

static const char *const value_opts[] = {
    "-o", "--output", "--config", "--weights", "--summary-style", "--resize", "--crop",
    "--preprocess", "--input", "--labels", "--top", "--dump", "--lambda", "--kernels", "--kernel-grid", "--kernel-norm",
    "--features", "--max-images", "--cmap", "--lang", "--template-dir", "--title", "--author",
    "--date", "--threads", "--max-memory", "--compare", "--check", "--shard", "--class",
    "--gradcam", "--patterns",
};

/* An option without a value: a command or a switch. */
static tlr_status parse_flag(tlr_options *o, const char *a, tlr_err *err)
{
    static const struct { const char *name; tlr_command cmd; } commands[] = {
        { "--summary", TLR_CMD_SUMMARY }, { "--layers", TLR_CMD_LAYERS },
        { "--storage", TLR_CMD_STORAGE }, { "--predict", TLR_CMD_PREDICT },
    };
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
        if (strcmp(a, commands[k].name) == 0)
            return set_command(o, commands[k].cmd, a, err);
    if (strcmp(a, "--json") == 0)
        o->json = 1;
    else if (strcmp(a, "--expand-nested") == 0)
        o->expand_nested = 1;
    else if (strcmp(a, "--show-trainable") == 0)
        o->show_trainable = 1;
    else if (strcmp(a, "--embed") == 0)
        o->embed = 1;
    else if (strcmp(a, "--force") == 0)
        o->force = 1;
    else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0)
        o->quiet = 1;
    else if (strcmp(a, "--profile") == 0)
        o->profile = 1;
    else if (strcmp(a, "--strict") == 0)
        o->strict = 1;
    else if (strcmp(a, "--merge") == 0)
        o->merge = 1;
    else
        return tlr_err_set(err, TLR_E_USAGE, "unknown option '%s' (see tlreport --help)", a);
    return TLR_OK;
}

/* One option argv[*i] (and its value, which may advance *i). */
static tlr_status parse_option(int argc, char **argv, int *i, tlr_options *o, tlr_err *err)
{
    const char *a = argv[*i];
    const char *name = NULL;
    for (size_t k = 0; k < sizeof value_opts / sizeof value_opts[0]; k++)
        if (is_opt(a, value_opts[k]))
            name = value_opts[k];
    if (name) {
        const char *v = NULL;
        tlr_status st = take_value(argc, argv, i, a, name, &v, err);
        return st ? st : parse_value_opt(o, a, name, v, err);
    }
    if (strchr(a, '='))
        return tlr_err_set(err, TLR_E_USAGE, "option '%s' takes no value", a);
    return parse_flag(o, a, err);
}

/* --shard and --merge: only for the report, each with what it needs. */
static tlr_status check_dataset_options(const tlr_options *o, tlr_err *err)
{
    if (!o->shard_n && !o->merge)
        return TLR_OK;
    const char *opt = o->merge ? "--merge" : "--shard";
    if (o->shard_n && o->merge)
        return tlr_err_set(err, TLR_E_USAGE, "--shard and --merge cannot be used together");
    if (o->cmd != TLR_CMD_REPORT)
        return tlr_err_set(err, TLR_E_USAGE, "%s belongs to the report; it cannot be combined "
                           "with --summary, --layers, --storage, --json, --predict or --dump", opt);
    if (o->shard_n && (o->n_inputs != 1 || !o->out_dir))
        return tlr_err_set(err, TLR_E_USAGE, "--shard needs one labelled folder and -o DIR for "
                           "the partial result");
    if (o->merge && o->n_inputs == 0)
        return tlr_err_set(err, TLR_E_USAGE, "--merge needs the folders written by --shard");
    return TLR_OK;
}

/* What no single option can check: the combination. */
static tlr_status check_options(tlr_options *o, tlr_err *err)
{
    if (o->json && o->cmd == TLR_CMD_REPORT && !o->out_dir && o->n_inputs == 0 &&
        o->n_named_inputs == 0)
        o->cmd = TLR_CMD_INFO;
    if (!o->model)
        return tlr_err_set(err, TLR_E_USAGE, "no model file given (see tlreport --help)");
    if (o->cmd == TLR_CMD_DUMP && !o->out_dir)
        return tlr_err_set(err, TLR_E_USAGE, "--dump needs an output directory (-o DIR)");
    if ((o->cmd == TLR_CMD_DUMP || o->cmd == TLR_CMD_PREDICT) && o->n_inputs == 0 &&
        o->n_named_inputs == 0)
        return tlr_err_set(err, TLR_E_USAGE, "%s needs at least one image",
                           o->cmd == TLR_CMD_DUMP ? "--dump" : "--predict");
    if (o->config_path && o->weights_path)
        return tlr_err_set(err, TLR_E_USAGE, "--config and --weights cannot be used together");
    if ((o->compare_path || o->check_path) && o->cmd != TLR_CMD_REPORT)
        return tlr_err_set(err, TLR_E_USAGE, "%s works with the report, not with --summary, "
                           "--layers, --storage, --json alone, --predict or --dump",
                           o->compare_path ? "--compare" : "--check");
    return check_dataset_options(o, err);
}

tlr_status tlr_cli_parse(int argc, char **argv, tlr_options *o, tlr_err *err)
{
    defaults(o);
    o->inputs = tlr_xcalloc((size_t)argc + 1, sizeof *o->inputs);
    o->exe_path = argc > 0 ? argv[0] : NULL;
    int no_more_opts = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (no_more_opts || a[0] != '-' || strcmp(a, "-") == 0) {
            if (!o->model)
                o->model = a;
            else
                o->inputs[o->n_inputs++] = a;
        } else if (strcmp(a, "--") == 0) {
            no_more_opts = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            o->cmd = TLR_CMD_HELP;
            return TLR_OK;
        } else if (strcmp(a, "--version") == 0) {
            o->cmd = TLR_CMD_VERSION;
            return TLR_OK;
        } else {
            tlr_status st = parse_option(argc, argv, &i, o, err);
            if (st)
                return st;
        }
    }
    return check_options(o, err);
}

void tlr_cli_free(tlr_options *o)
{
    free(o->inputs);
    o->inputs = NULL;
}
