/* test_input.c - the default preprocessing follows what the model does to its input first. */
#include "harness.h"
#include "base/json.h"
#include "input/input.h"
#include "keras/keras_config.h"

static int mode_of(const char *cfg_text)
{
    tlr_err err = { 0 };
    tlr_json *j = tlr_json_parse(cfg_text, strlen(cfg_text), "cfg", &err);
    tlr_config_ctx ctx = { 2, 0, "cfg" };
    tlr_model *m = j ? tlr_keras_config_parse(j, &ctx, &err) : NULL;
    int mode = m ? (int)tlr_input_default_mode(m) : -1;
    if (!m)
        printf("parse failed: %s\n", err.msg);
    tlr_model_free(m);
    tlr_json_free(j);
    return mode;
}

#define IN "{\"class_name\": \"InputLayer\", \"config\": {\"name\": \"in\", \"batch_input_shape\": [null, 8, 8, 3]}}"
#define CONV "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"c\", \"filters\": 2, \"kernel_size\": [3, 3]}}"
#define RESCALE "{\"class_name\": \"Rescaling\", \"config\": {\"name\": \"r\", \"scale\": 0.00392156862}}"
#define FLIP "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"aug\", \"layers\": [" \
    "{\"class_name\": \"RandomFlip\", \"config\": {\"name\": \"f\", \"batch_input_shape\": [null, 8, 8, 3]}}]}}"
#define CROP "{\"class_name\": \"Cropping2D\", \"config\": {\"name\": \"crop\", \"cropping\": [[1, 1], [0, 0]]}}"
/* lambda x: x / 127.5 - 1.0 as Keras 2.1+ stores it (see test_pylambda.c) */
#define LAMBDA "{\"class_name\": \"Lambda\", \"config\": {\"name\": \"norm\", \"function_type\": \"lambda\", " \
    "\"function\": [\"4wEAAAAAAAAAAAAAAAEAAAACAAAAQwAAAHMMAAAAfABkARsAZAIYAFMAKQNOZwAAAAAA4F9AZwAA\\nAAAAAPA/\\n\", null, null]}}"
#define SEQ(...) "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": [" __VA_ARGS__ "]}}"

void test_input(void)
{
    INT_EQ(mode_of(SEQ(IN "," CONV)), TLR_PREP_RESCALE, "a model that computes first: x/255");
    INT_EQ(mode_of(SEQ(IN "," RESCALE "," CONV)), TLR_PREP_NONE, "Rescaling first: none");
    INT_EQ(mode_of(SEQ(IN "," FLIP "," RESCALE "," CONV)), TLR_PREP_NONE,
           "augmentation model, then Rescaling: none");
    INT_EQ(mode_of(SEQ(IN "," CROP "," LAMBDA "," CONV)), TLR_PREP_NONE,
           "Cropping then a Lambda formula (behavioural cloning): none");
    INT_EQ(mode_of(SEQ(IN "," CONV "," RESCALE)), TLR_PREP_RESCALE,
           "Rescaling after a convolution does not count");
}
