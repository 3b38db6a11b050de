/* optimizer.h - the optimizer variables Keras 3 holds right after keras.models.load_model(),
 * which its model.summary() counts as "Optimizer params" and adds to the total.
 *
 * Whether the optimizer is built on load, and on which weights, depends on the file:
 *   legacy .h5 with training_config and optimizer_weights  built on the model's own variables,
 *       none for a Sequential or Functional model: only the base variables exist;
 *   .keras archive with a compile_config                   built on every trainable weight;
 *   anything else (or any writer before Keras 3)           not built: no line.
 * The counts are derived from the optimizer's class and config, as each class's build()
 * creates its variables (keras/src/optimizers/, one file per class). */
#ifndef TLR_OPTIMIZER_H
#define TLR_OPTIMIZER_H

#include <stdint.h>

#include "keras/kfile.h"

typedef struct {
    int built;               /* Keras 3 built the optimizer on load: the summary shows the line */
    int on_trainable;        /* built on every trainable weight (.keras), not on none (.h5) */
    const char *class_name;  /* Keras's name ("Adam"), or as written when unknown (borrowed) */
    int known;               /* a class whose build() tlreport follows; else the stored state
                                (.keras) or the base variables (.h5) stand in */
    int lr_variable;         /* the learning rate is a variable, not a schedule */
    int slots;               /* variables per trainable weight (Adam: 2, SGD: 0 or 1, ...) */
    int n_variables;         /* len(optimizer.variables) */
    int64_t params;          /* count_params(optimizer.variables) */
    int64_t bytes;           /* weight_memory_size(optimizer.variables) */
} tlr_optimizer_state;

/* What Keras 3's load_model leaves in model.optimizer for file 'f' (out->built 0 when it
 * builds nothing).  Never fails: an unreadable config just means "not built". */
void tlr_optimizer_state_of(const tlr_kfile *f, tlr_optimizer_state *out);

#endif
