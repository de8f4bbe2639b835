/* checkpoint — the file `qatc train` writes after every epoch, on Ctrl-C and
 * on timeout (DIR/NAME.ckpt), and continues from with --resume, so exactly
 * that the final model is bit-identical to an uninterrupted run.
 *
 * The format, in file order (binary, in the byte order and struct layout of
 * the build that wrote it: a header of another size is refused):
 *
 *   header      sizeof(ckpt_header) bytes: ckpt_header below; magic
 *               "QATCCKP1", header_bytes, the sizes of every part after it,
 *               the schedule's position and the results so far
 *   settings    canon_bytes: the config's canonical settings text
 *               (cfgcanon.h), compared with the config on resume
 *   crc_head    uint32: CRC-32 (zlib's) of header and settings
 *   params      n_params floats: the net's parameters
 *   state       n_state floats: the net's non-trained state (BN running
 *               statistics, weight scales)
 *   observers   n_layers obs_act structs: each layer's activation observer
 *               (its range and enabled flag)
 *   optimizer   opt_bytes: the optimizer's state (optim_state)
 *   log         csv_bytes: the CSV rows so far, without a NUL
 *   crc         uint32: CRC-32 of everything before it, crc_head included
 *
 * crc_head lets --resume check the config (naming the first setting that
 * differs) before it trusts the sizes of the arrays; crc refuses a corrupt
 * file instead of resuming it. The file is replaced atomically (qfile.h): a
 * crash while writing leaves the previous checkpoint.
 */
#ifndef QATC_CHECKPOINT_H
#define QATC_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cfgcanon.h"
#include "net.h"
#include "optim.h"
#include "qerr.h"
#include "rng.h"

/* Where the training schedule is (ckpt_header.phase). */
typedef enum { CKPT_PHASE_PRETRAIN, CKPT_PHASE_QAT, CKPT_PHASE_DONE } ckpt_phase;

/* Everything a checkpoint restores besides the arrays (plain data): the
 * trainer keeps its schedule state in one of these. */
typedef struct {
    char magic[8];            /* "QATCCKP1" (no NUL) */
    uint32_t header_bytes;    /* sizeof(ckpt_header): another build's layout is refused */
    uint32_t n_layers;
    uint64_t n_params, n_state, opt_bytes, csv_bytes;
    int32_t phase;            /* ckpt_phase */
    int32_t epoch;            /* within the phase */
    int32_t batch;            /* next batch of that epoch */
    int32_t qat, observers, bn_frozen, ptq_done;
    rng_state rng;            /* current */
    rng_state rng_epoch;      /* at the start of the current epoch, before its shuffle */
    double loss_sum;          /* this epoch so far, Σ loss · images */
    int64_t loss_images;
    double epoch_seconds;     /* this epoch so far */
    double elapsed;           /* training and evaluation, all runs */
    double quant_start;       /* elapsed when quantization (PTQ) started */
    double float_acc, ptq_acc, best_acc;
    int32_t have_float, have_best, best_epoch, timed_out;
    int64_t images[2];        /* trained, per phase */
    double train_seconds[2];  /* spent in training steps, per phase */
    double train_cpu[2];      /* CPU seconds of all threads in those steps, per phase */
    uint64_t canon_bytes;     /* the config's canonical text (cfgcanon.h), after the header */
} ckpt_header;

/* The trainer's memory that a checkpoint saves and restores besides the
 * header. */
typedef struct {
    net *n;                   /* params, state, observers and the flags qat,
                                 observers, bn_frozen */
    optim *opt;               /* its state */
    char *csv;                /* the CSV log so far, NUL-terminated */
    size_t csv_cap;           /* bytes at csv: a longer log is refused */
    const cfgcanon *canon;    /* the config's settings */
    const char *config_path;  /* the config's file, for messages */
    int32_t epochs[2];        /* the schedule: epochs of pretraining and of QAT, and */
    int32_t batches[2];       /* batches per epoch of each: a header past them is refused */
} ckpt_parts;

/* Writes the checkpoint at path (atomically): h, after filling in its magic,
 * header_bytes, the sizes of p's parts and the net's flags (the other fields
 * are the caller's), then p's parts. Returns 0, or -1 with e set (the file
 * at path is then as it was). */
int ckpt_write(const char *path, ckpt_header *h, const ckpt_parts *p, qerr *e);

/* A checkpoint being read: between ckpt_read_begin and ckpt_read_end (or
 * ckpt_read_abort). */
typedef struct {
    FILE *f;
    uint32_t crc;             /* of what was read so far */
    const char *path;
} ckpt_reader;

/* Opens the checkpoint at path (a regular file only: a FIFO is refused, never
 * waited on) and reads its header and settings: checks the magic, the
 * header's size and ranges (flags 0 or 1; the phase; the epoch and batch
 * within p's schedule, the best epoch within its QAT epochs; counters
 * below 2^62; times and accuracies finite, not negative, accuracies at
 * most 1: so that no counter the trainer advances can overflow, and a
 * crafted file cannot make it loop), crc_head, that the settings equal
 * p->canon (cfgcanon_check: the message names the first difference) and that
 * the sizes fit p's net and csv_cap. Returns 0 with *h filled in and r open
 * for ckpt_read_end, or -1 with e set, r closed and *h untouched (no file,
 * not a checkpoint, another build's, corrupt, truncated, other settings or
 * layers, out of memory). p->opt is not used: the caller builds the
 * optimizer of h->phase before ckpt_read_end. */
int ckpt_read_begin(ckpt_reader *r, const char *path, const ckpt_parts *p, ckpt_header *h,
                    qerr *e);

/* Reads the rest into p's parts and checks crc and that nothing follows it;
 * then sets the net's flags from h and NUL-terminates the log. Closes r.
 * Returns 0, or -1 with e set (truncated, corrupt, an optimizer state of
 * another size): p's parts are then partly overwritten. */
int ckpt_read_end(ckpt_reader *r, const ckpt_header *h, const ckpt_parts *p, qerr *e);

/* Closes r after a ckpt_read_begin that succeeded, without reading on. */
void ckpt_read_abort(ckpt_reader *r);

#endif
