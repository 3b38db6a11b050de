/* keras1_inputs.h - the name Keras 1.x gives the input it creates for a Sequential model. */
#ifndef TLR_KERAS1_INPUTS_H
#define TLR_KERAS1_INPUTS_H

#include "keras/model.h"

/* Renames the implicit InputLayer of every Sequential in 'm' (nested ones included) the way
 * Keras 1 named it when load_model rebuilt the model in a fresh session:
 * "<first layer's class, lower-cased>_input_<n>", n counting per class from 1 in the order
 * the models are rebuilt ("cropping2d_input_1", "dense_input_1"). */
void tlr_keras1_name_inputs(tlr_model *m);

#endif
