/* course_summary.h - the course notes' model.summary() text (Keras 2.3-era Sequential around a
 * frozen VGG16), as Keras's documented format prints it.  Shared by the summary and loader
 * tests; written by hand, never produced by tlreport. */
#ifndef TLR_COURSE_SUMMARY_H
#define TLR_COURSE_SUMMARY_H

static const char COURSE_SUMMARY[] =
    "Model: \"sequential\"\n"
    "_________________________________________________________________\n"
    "Layer (type)                 Output Shape              Param #   \n"
    "=================================================================\n"
    "vgg16 (Model)                (None, 4, 4, 512)         14714688  \n"
    "_________________________________________________________________\n"
    "conv2d (Conv2D)              (None, 2, 2, 128)         589952    \n"
    "_________________________________________________________________\n"
    "max_pooling2d (MaxPooling2D) (None, 1, 1, 128)         0         \n"
    "_________________________________________________________________\n"
    "flatten (Flatten)            (None, 128)               0         \n"
    "_________________________________________________________________\n"
    "dense (Dense)                (None, 128)               16512     \n"
    "_________________________________________________________________\n"
    "dense_1 (Dense)              (None, 1)                 129       \n"
    "=================================================================\n"
    "Total params: 15,321,281\n"
    "Trainable params: 606,593\n"
    "Non-trainable params: 14,714,688\n"
    "_________________________________________________________________\n";

#endif
