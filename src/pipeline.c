/* pipeline.c - the stages in order: open the model file, then inspect, run or report. */
#include "pipeline.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "inspect.h"
#include "json.h"
#include "kfile.h"

static tlr_status need_model(const tlr_kfile *f, const char *what, tlr_err *err)
{
    if (f->model)
        return TLR_OK;
    return tlr_err_set(err, TLR_E_USAGE, "%s: weights-only file: %s needs the architecture "
                       "(add --config arch.json); --storage works without it", f->path, what);
}

static void print_json(tlr_json *j, FILE *out)
{
    char *s = tlr_json_print(j, 1);
    fputs(s, out);
    fputc('\n', out);
    free(s);
}

static tlr_status cmd_summary(tlr_kfile *f, const tlr_options *o, FILE *out, tlr_err *err)
{
    tlr_status st = need_model(f, "--summary", err);
    if (st)
        return st;
    tlr_summary *s = tlr_inspect_summary(f, o->summary_style, o->expand_nested, o->show_trainable);
    if (o->json) {
        tlr_json *j = tlr_inspect_summary_json(s);
        print_json(j, out);
        tlr_json_free(j);
    } else {
        tlr_buf b = TLR_BUF_INIT;
        tlr_summary_format(s, &b);
        fputs(tlr_buf_cstr(&b), out);
        tlr_buf_free(&b);
    }
    tlr_inspect_summary_free(s);
    return TLR_OK;
}

static tlr_status cmd_layers(tlr_kfile *f, const tlr_options *o, FILE *out, tlr_err *err)
{
    tlr_status st = need_model(f, "--layers", err);
    if (st)
        return st;
    tlr_json *j = tlr_inspect_layers(f, o->expand_nested);
    if (o->json) {
        print_json(j, out);
    } else {
        tlr_buf b = TLR_BUF_INIT;
        tlr_inspect_layers_text(j, &b);
        fputs(tlr_buf_cstr(&b), out);
        tlr_buf_free(&b);
    }
    tlr_json_free(j);
    return TLR_OK;
}

static tlr_status cmd_storage(tlr_kfile *f, const tlr_options *o, FILE *out, tlr_err *err)
{
    tlr_json *j = tlr_inspect_storage(f, err);
    if (!j)
        return err->code;
    if (o->json) {
        print_json(j, out);
    } else {
        tlr_buf b = TLR_BUF_INIT;
        tlr_inspect_storage_text(j, &b);
        fputs(tlr_buf_cstr(&b), out);
        tlr_buf_free(&b);
    }
    tlr_json_free(j);
    return TLR_OK;
}

/* --json alone: storage, layers and summary in one document. */
static tlr_status cmd_info(tlr_kfile *f, const tlr_options *o, FILE *out, tlr_err *err)
{
    tlr_json *j = tlr_json_new_object();
    tlr_json *storage = tlr_inspect_storage(f, err);
    if (!storage) {
        tlr_json_free(j);
        return err->code;
    }
    tlr_json_add_item(j, "storage", storage);
    if (f->model) {
        tlr_json_add_item(j, "layers", tlr_inspect_layers(f, o->expand_nested));
        tlr_summary *s = tlr_inspect_summary(f, o->summary_style, o->expand_nested, o->show_trainable);
        tlr_json *sj = tlr_inspect_summary_json(s);
        tlr_buf b = TLR_BUF_INIT;
        tlr_summary_format(s, &b);
        tlr_json_add_string(sj, "text", tlr_buf_cstr(&b));
        tlr_buf_free(&b);
        tlr_json_add_item(j, "summary", sj);
        tlr_inspect_summary_free(s);
    }
    print_json(j, out);
    tlr_json_free(j);
    return TLR_OK;
}

tlr_status tlr_run(const tlr_options *o, FILE *out, FILE *log, tlr_err *err)
{
    (void)log;
    tlr_kfile_opts ko = { o->config_path, o->weights_path };
    tlr_kfile *f = tlr_kfile_open(o->model, &ko, err);
    if (!f)
        return err->code;
    tlr_status st;
    switch (o->cmd) {
    case TLR_CMD_SUMMARY: st = cmd_summary(f, o, out, err); break;
    case TLR_CMD_LAYERS: st = cmd_layers(f, o, out, err); break;
    case TLR_CMD_STORAGE: st = cmd_storage(f, o, out, err); break;
    case TLR_CMD_INFO: st = cmd_info(f, o, out, err); break;
    default:
        st = tlr_err_set(err, TLR_E_UNSUPPORTED, "this command is not implemented yet");
        break;
    }
    tlr_kfile_free(f);
    return st;
}
