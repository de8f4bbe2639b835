/* cfgcanon — the settings of a training config as canonical text, kept in the
 * checkpoint so that `qatc train --resume` refuses a config that changed
 * since (docs/train.md §5).
 *
 * The text holds one line "FIELD: VALUE" per scalar of the YAML document,
 * FIELD its dotted path as in error messages (model.layers[2].conv2d.out), in
 * a canonical order: mapping keys sorted byte-wise, sequence items in order,
 * so that moving keys around or switching between flow and block style
 * changes nothing. A value that reads wholly as a number is written as the
 * shortest %g that reads back as the same double (0.05, 5e-2 and 0.050 are
 * one value, written 0.05); any other scalar as
 * written, control characters and backslashes escaped (\xNN, \\). An empty
 * mapping or sequence is one line with {} or [].
 *
 * Left out, so that they may change on resume: tuning.exit_policy (when to
 * stop) and tuning.accuracy_criterion (the verdict at the end); they decide
 * what happens next, not the arithmetic of what was trained. The first line
 * is always the seed in effect, "seed (--seed, else tuning.random_seed): S"
 * (tuning.random_seed itself is left out). Defaults are not filled in: writing out a key with
 * its default value counts as a change. The thread count is not part of the
 * config (it changes no result: gemm.h).
 */
#ifndef QATC_CFGCANON_H
#define QATC_CFGCANON_H

#include <stddef.h>
#include <stdint.h>

#include "qerr.h"

typedef struct {
    char *text;     /* (len + 1) the canonical text, NUL-terminated */
    size_t len;
    int n;          /* lines */
    int *line;      /* (n) the line of each entry in the config, 0 when none */
} cfgcanon;

/* Reads the config at config_path (YAML only; cfg_read checks the
 * settings) into c, with seed as the seed in effect. Returns 0, or -1 with e
 * set (syntax error, out of memory, a document nested deeper than 32); on
 * failure c is zeroed and nothing stays allocated. */
int cfgcanon_build(cfgcanon *c, const char *config_path, uint64_t seed, qerr *e);

/* Releases what c owns and zeroes it. Safe on a zeroed cfgcanon. */
void cfgcanon_free(cfgcanon *c);

/* Compares c (from the config at config_path) with old, the old_len bytes of
 * canonical text that the checkpoint at ckpt_path was written with. Returns
 * 0 when they are equal; otherwise -1 with e naming the first differing
 * field, e.g. "CONFIG:31: quantization.train.optimizer.lr: 0.03, but CKPT was
 * trained with 0.02; resume with the settings it was trained with, or train
 * without --resume". Neither argument is changed. */
int cfgcanon_check(const cfgcanon *c, const char *old, size_t old_len, const char *config_path,
                   const char *ckpt_path, qerr *e);

#endif
