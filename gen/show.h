/* show — how the generator shows a model to a person, written the same way in
 * the generated file's comments and in `qatc report`: a tensor's shape and the
 * arena plan's table.
 */
#ifndef QATC_SHOW_H
#define QATC_SHOW_H

#include <stddef.h>
#include <stdio.h>

#include "plan.h"
#include "qmodel.h"

/* s as "(H, W, C)" in buf (cap bytes, cut short if need be); returns buf. */
const char *show_shape(q_shape s, char *buf, size_t cap);

/* The table of plan p of model m: a header line, then one line per tensor:
 * the layer that writes it (and the tensor whose bytes it shares: "view" for
 * a flatten, "over" for an add in place), its shape, bytes, place (input,
 * output, ARENA + offset, or never stored) and live steps. Every line starts
 * with lead (the generated comment's " *   ", the report's indent); arena
 * names the arena in the place column. */
void show_plan(FILE *f, const q_model *m, const plan *p, const char *lead, const char *arena);

#endif
