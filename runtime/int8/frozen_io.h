/* frozen_io — the frozen model file (YAML, versioned; docs/frozen-format.md).
 *
 * Scales are written with 17 significant digits, so they read back to the
 * identical double. Writing is atomic (qfile): the file appears whole or not at all.
 */
#ifndef QATC_FROZEN_IO_H
#define QATC_FROZEN_IO_H

#include "qerr.h"
#include "qmodel.h"

/* Reads and checks (q_model_check) a frozen model of format version 1 or 2.
 * Returns 0, or -1 with e set to "FILE:LINE: FIELD: problem"; on failure *m
 * is left zeroed. */
int frozen_read(const char *path, q_model *m, qerr *e);

/* Writes m to path atomically, in format version 2 (Q_FORMAT_VERSION).
 * Returns 0, or -1 with e set and path untouched. */
int frozen_write(const char *path, const q_model *m, qerr *e);

#endif
