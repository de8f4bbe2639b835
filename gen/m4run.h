/* m4run — finding qatc's m4 templates and running `m4 -P` on them.
 *
 * The C generator prints an m4 program (macro calls with the model's data as
 * arguments); m4 expands it with the templates into C. m4 runs as a child
 * process (fork/exec of `m4` from PATH) reading the program from a temporary
 * file and writing straight into the caller's output file, so there is no
 * pipe to deadlock on. Anything m4 prints on stderr (errprint from a
 * template, a warning) counts as failure.
 */
#ifndef QATC_M4RUN_H
#define QATC_M4RUN_H

#include <stddef.h>
#include <stdio.h>

#include "qerr.h"

/* The templates folder: $QATC_TEMPLATES if set; else, beside the running
 * executable, ../share/qatc/templates (installed) or ./templates (the source
 * tree, where ./qatc sits at the top). The folder must hold qatc.m4. Writes
 * the path into dir (cap bytes). Returns 0, or -1 with e listing where it
 * looked. */
int m4run_find_templates(char *dir, size_t cap, qerr *e);

/* Runs `m4 -P -I DIR DIR/qatc.m4 DIR/TEMPLATE -` (templates include others from
 * DIR: m4_include) with program[0..len) on stdin and
 * stdout into out (flushed first; its file position moves to the end of
 * m4's output). Returns 0, or -1 with e holding m4's first line of error
 * output (or why it could not run); out may then hold part of m4's output,
 * so the caller must discard it (qfile_abort). */
int m4run(const char *dir, const char *template_name, const char *program, size_t len,
          FILE *out, qerr *e);

#endif
