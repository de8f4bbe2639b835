/* sample — one test image as int8 model input, and its label (sample.c is
 * written by mksample.sh). */
#ifndef SAMPLE_H
#define SAMPLE_H

#include <stdint.h>

extern const int8_t sample_image[];  /* (28, 28, 1) NHWC, q = pixel - 128 */
extern const int sample_label;

#endif
