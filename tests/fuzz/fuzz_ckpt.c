/* libFuzzer target: the checkpoint reader (ckpt_read_begin, then the
 * optimizer of the phase, then ckpt_read_end) on arbitrary bytes, as
 * `qatc train --resume` reads DIR/NAME.ckpt.
 *
 * The first byte chooses how the rest is used: bit 0 set, the two CRC-32s
 * of the file (after header and settings, and at the end) are computed anew
 * before it is written, as someone crafting a checkpoint would, so that
 * mutations get past the CRCs to the header's range checks, the settings
 * comparison and the arrays; clear, the bytes are the file as they are.
 *
 * The trainer's side is fixed: a small config (written once beside the
 * input), its net, an SGD optimizer with momentum, its settings text, a log
 * buffer of CSV_CAP bytes, the schedule {0 pretraining, 3 QAT epochs} of 4
 * batches each. Checks: no crash, leak or undefined behaviour (sanitizers);
 * a refusal is one line naming the file (the config's, for other settings);
 * an accepted checkpoint has its
 * flags 0 or 1, its position within the schedule, counters that cannot
 * overflow, finite times and accuracies in [0, 1], and a log that ends
 * within the buffer.
 *
 * With QATC_FUZZ_CKPT_SEEDS=DIR in the environment, the target writes seed
 * inputs into DIR instead (checkpoints of every phase through ckpt_write,
 * each with mode bytes 0 and 1) and exits: tests/fuzz/ckpt/make_corpus.sh.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cfgcanon.h"
#include "checkpoint.h"
#include "config.h"
#include "fuzzfile.h"
#include "net.h"
#include "optim.h"
#include "rng.h"

#define CSV_CAP 2048
#define BATCHES 4

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char config_text[] =
    "model:\n"
    "  name: fz\n"
    "  input: {shape: [4, 4, 1], scale: 0.00392156862745098, zero_point: -128}\n"
    "  layers:\n"
    "    - conv2d: {out: 2, kernel: 3, pad: 1, bn: true, act: relu}\n"
    "    - maxpool: {kernel: 2}\n"
    "    - linear: {out: 3}\n"
    "data:\n"
    "  train: {images: img.idx, labels: lbl.idx}\n"
    "  eval: {images: img.idx, labels: lbl.idx}\n"
    "quantization:\n"
    "  train: {epochs: 3, batch: 2, optimizer: {type: sgd, lr: 0.01, momentum: 0.9}}\n";

static struct {
    const char *config;
    cfg_config cfg;
    cfgcanon canon;
    net n;
    optim opt;
    char csv[CSV_CAP];
} fx;

static void fuzz_fail(const char *what, const char *msg)
{
    fprintf(stderr, "fuzz: %s%s%s\n", what, msg ? ": " : "", msg ? msg : "");
    abort();
}

static ckpt_parts parts(void)
{
    return (ckpt_parts){&fx.n,       &fx.opt,     fx.csv,
                        sizeof fx.csv, &fx.canon, fx.config,
                        {fx.cfg.pretrain.epochs, fx.cfg.qat.epochs},
                        {BATCHES, BATCHES}};
}

/* The trainer's side, once. */
static void fuzz_setup(void)
{
    static const uint8_t empty[1];
    fuzzfile_write("ckpt", 1, "img.idx", empty, 0);
    fuzzfile_write("ckpt", 2, "lbl.idx", empty, 0);
    fx.config = fuzzfile_write("ckpt", 3, "c.yaml", (const uint8_t *)config_text,
                               sizeof config_text - 1);
    qerr e = {{0}};
    const optim_config oc = {.type = OPTIM_SGD, .momentum = 0.9f};
    if (cfg_read(fx.config, &fx.cfg, &e) || cfgcanon_build(&fx.canon, fx.config, 7, &e) ||
        net_build(&fx.n, &fx.cfg, 2, &e) || optim_build(&fx.opt, &oc, fx.n.n_params, &e))
        fuzz_fail("setup", e.msg);
    rng_state r;
    rng_seed(&r, 1);
    net_init(&fx.n, &r);
}

/* The CRC-32s of a checkpoint of len bytes at p, computed anew where the
 * header says they are (when it says something that fits). */
static void fix_crcs(uint8_t *p, size_t len)
{
    ckpt_header h;
    if (len < sizeof h + 8)
        return;
    memcpy(&h, p, sizeof h);
    if (h.header_bytes != sizeof h || h.canon_bytes > len - sizeof h - 8)
        return;
    size_t head = sizeof h + (size_t)h.canon_bytes;
    uint32_t crc = (uint32_t)crc32(0, p, (uInt)head);
    memcpy(p + head, &crc, 4);
    crc = (uint32_t)crc32(0, p, (uInt)(len - 4));
    memcpy(p + len - 4, &crc, 4);
}

/* What an accepted header must be (checkpoint.h). */
static void check_accepted(const ckpt_header *h)
{
    const int32_t flags[] = {h->qat, h->observers, h->bn_frozen, h->ptq_done,
                             h->have_float, h->have_best, h->timed_out};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (flags[i] != 0 && flags[i] != 1)
            fuzz_fail("accepted a flag that is not 0 or 1", NULL);
    int q = h->phase != CKPT_PHASE_PRETRAIN;
    if (h->phase < CKPT_PHASE_PRETRAIN || h->phase > CKPT_PHASE_DONE || h->epoch < 0 ||
        h->epoch > (q ? fx.cfg.qat.epochs : fx.cfg.pretrain.epochs) || h->batch < 0 ||
        h->batch > BATCHES || h->best_epoch < -1 || h->best_epoch >= fx.cfg.qat.epochs)
        fuzz_fail("accepted a position outside the schedule", NULL);
    if (h->loss_images < 0 || h->loss_images > INT64_MAX / 2 || h->images[0] < 0 ||
        h->images[0] > INT64_MAX / 2 || h->images[1] < 0 || h->images[1] > INT64_MAX / 2)
        fuzz_fail("accepted a counter that could overflow", NULL);
    if (!isfinite(h->elapsed) || !isfinite(h->loss_sum) || !(h->best_acc >= 0) ||
        !(h->best_acc <= 1) || !(h->float_acc >= 0 && h->float_acc <= 1))
        fuzz_fail("accepted a time or accuracy out of range", NULL);
    if (memchr(fx.csv, '\0', sizeof fx.csv) == NULL)
        fuzz_fail("accepted a log without its end", NULL);
}

/* Seed inputs: checkpoints of the fixed side at every phase, each with both
 * mode bytes. */
static void write_seeds(const char *dir)
{
    static const struct {
        int32_t phase, epoch, batch, best_epoch, ptq_done, have_best;
    } at[] = {{CKPT_PHASE_QAT, 0, 0, -1, 0, 0},
              {CKPT_PHASE_QAT, 1, 2, 0, 1, 1},
              {CKPT_PHASE_QAT, 3, 0, 2, 1, 1},
              {CKPT_PHASE_DONE, 3, 0, 1, 1, 1}};
    char path[1024];
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        ckpt_header h = {0};
        h.phase = at[i].phase, h.epoch = at[i].epoch, h.batch = at[i].batch;
        h.best_epoch = at[i].best_epoch, h.ptq_done = at[i].ptq_done;
        h.have_best = at[i].have_best, h.have_float = 1, h.float_acc = 0.5, h.best_acc = 0.5;
        h.images[1] = 8 * (int64_t)at[i].epoch, h.elapsed = 1.0 + i;
        rng_seed(&h.rng, i);
        snprintf(fx.csv, sizeof fx.csv, "%zu,qat,0.5,50.0000,50.0000,0.01,1.00\n", i);
        ckpt_parts p = parts();
        qerr e = {{0}};
        const char *tmp = fuzzfile_write("ckpt", 0, "seed.ckpt", (const uint8_t *)"", 0);
        if (ckpt_write(tmp, &h, &p, &e))
            fuzz_fail("seed", e.msg);
        FILE *in = fopen(tmp, "rb");
        if (!in)
            fuzz_fail("seed", tmp);
        uint8_t buf[1 << 16];
        size_t n = fread(buf + 1, 1, sizeof buf - 1, in);
        fclose(in);
        for (uint8_t mode = 0; mode < 2; mode++) {
            buf[0] = mode;
            snprintf(path, sizeof path, "%s/phase%d_epoch%d_mode%d", dir, (int)h.phase,
                     (int)h.epoch, mode);
            FILE *out = fopen(path, "wb");
            if (!out || fwrite(buf, 1, n + 1, out) != n + 1 || fclose(out))
                fuzz_fail("cannot write seed", path);
        }
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_setup();
    const char *seeds = getenv("QATC_FUZZ_CKPT_SEEDS");
    if (seeds) {
        write_seeds(seeds);
        exit(0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t *file = malloc(size);
    if (!file)
        fuzz_fail("out of memory", NULL);
    memcpy(file, data + 1, size - 1);
    if (data[0] & 1)
        fix_crcs(file, size - 1);
    const char *path = fuzzfile_write("ckpt", 0, "fz.ckpt", file, size - 1);
    free(file);

    ckpt_parts p = parts();
    ckpt_header h;
    ckpt_reader r;
    qerr e = {{0}};
    if (ckpt_read_begin(&r, path, &p, &h, &e)) {
        /* other settings are named at the config's line, the rest at the checkpoint */
        int at_config = !strncmp(e.msg, fx.config, strlen(fx.config));
        fuzzfile_check_message(e.msg, at_config ? fx.config : path);
        return 0;
    }
    const optim_config oc = {.type = OPTIM_SGD, .momentum = 0.9f};
    optim_free(&fx.opt);
    if (optim_build(&fx.opt, &oc, fx.n.n_params, &e)) /* the phase's optimizer, fresh */
        fuzz_fail("optimizer", e.msg);
    p = parts();
    if (ckpt_read_end(&r, &h, &p, &e)) {
        fuzzfile_check_message(e.msg, path);
        return 0;
    }
    check_accepted(&h);
    return 0;
}
