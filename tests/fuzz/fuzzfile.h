/* fuzzfile — the scratch folder and files of a libFuzzer target.
 *
 * The loaders under test read paths, so each input is written to a file in a
 * private folder under /dev/shm (or $TMPDIR when /dev/shm is missing), made
 * once per process and removed at exit. Any failure here is a broken test
 * machine, not a finding: it aborts with a message.
 */
#ifndef QATC_FUZZFILE_H
#define QATC_FUZZFILE_H

#include <stddef.h>
#include <stdint.h>

/* The private folder (created on first call), e.g. "/dev/shm/qatc-fuzz-config-1234". */
const char *fuzzfile_dir(const char *target);

/* Writes data[0..n) to DIR/name (replacing it) and returns the full path
 * (static storage, one per name slot: slot 0..3). */
const char *fuzzfile_write(const char *target, int slot, const char *name, const uint8_t *data,
                           size_t n);

/* Writes data[0..n) gzip-compressed to DIR/name; returns the full path as fuzzfile_write. */
const char *fuzzfile_write_gz(const char *target, int slot, const char *name,
                              const uint8_t *data, size_t n);

/* Aborts unless msg is a single non-empty line that starts with prefix (the
 * file the message must name): the contract of every qatc error. */
void fuzzfile_check_message(const char *msg, const char *prefix);

#endif
