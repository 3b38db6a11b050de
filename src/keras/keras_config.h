/* keras_config.h - a Keras model_config (JSON) into a tlr_model graph.
 *
 * Understands every config dialect Keras has written: Keras 1 (bare-list Sequential,
 * nb_filter / border_mode / subsample / dim_ordering), Keras 2.0-2.2 list Sequentials,
 * Keras 2 / tf.keras dict configs with list-form inbound nodes, Keras 3 configs with
 * dict-form nodes and dtype policies (and the hybrid legacy-.h5 envelope). */
#ifndef TLR_KERAS_CONFIG_H
#define TLR_KERAS_CONFIG_H

#include "base/err.h"
#include "base/json.h"
#include "keras/model.h"

typedef struct {
    int keras_major;         /* 1, 2 or 3 (writer's version; 0 unknown) */
    int backend_theano;      /* writer's backend was Theano */
    const char *what;        /* file name for messages */
} tlr_config_ctx;

/* Builds the graph of 'root' ({"class_name": ..., "config": ...}, or a bare layer list).
 * The model borrows JSON nodes from 'root', which must outlive it.
 * Free with tlr_model_free().  NULL + err on failure. */
tlr_model *tlr_keras_config_parse(const tlr_json *root, const tlr_config_ctx *ctx, tlr_err *err);

/* 1 when 'root' is a model config without a layer list: a subclassed model, whose
 * architecture is Python code the file does not hold. */
int tlr_keras_config_subclassed(const tlr_json *root);

/* Unwraps a config given as a JSON string that itself holds JSON (double-encoded
 * to_json output): returns the inner document (free it) or NULL when 'j' is not a string. */
tlr_json *tlr_keras_config_unwrap(const tlr_json *j, const char *what, tlr_err *err);

#endif
