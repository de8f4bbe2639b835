/* checkpoint — writing and reading NAME.ckpt (the format: checkpoint.h). */
#include "checkpoint.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "infile.h"
#include "qfile.h"

#define CKPT_MAGIC "QATCCKP1"

/* crc updated with n bytes at p (zlib's CRC-32, in pieces that fit a uInt). */
static uint32_t crc_add(uint32_t crc, const void *p, size_t n)
{
    const Bytef *b = p;
    for (size_t done = 0; done < n;) {
        uInt chunk = n - done < (1u << 30) ? (uInt)(n - done) : (1u << 30);
        crc = (uint32_t)crc32(crc, b + done, chunk);
        done += chunk;
    }
    return crc;
}

static int write_all(FILE *f, const void *p, size_t n, uint32_t *crc)
{
    *crc = crc_add(*crc, p, n);
    return n == 0 || fwrite(p, 1, n, f) == n ? 0 : -1;
}

int ckpt_write(const char *path, ckpt_header *h, const ckpt_parts *p, qerr *e)
{
    const net *n = p->n;
    memcpy(h->magic, CKPT_MAGIC, 8);
    h->header_bytes = (uint32_t)sizeof *h;
    h->n_layers = (uint32_t)n->n_layers;
    h->n_params = n->n_params;
    h->n_state = n->n_state;
    h->opt_bytes = optim_state_bytes(p->opt);
    h->csv_bytes = strlen(p->csv);
    h->canon_bytes = p->canon->len;
    h->qat = n->qat;
    h->observers = n->observers;
    h->bn_frozen = n->bn_frozen;
    qfile q;
    if (qfile_begin(&q, path, e))
        return -1;
    uint32_t crc = (uint32_t)crc32(0, Z_NULL, 0), ignored = 0;
    int bad = write_all(q.f, h, sizeof *h, &crc) ||
              write_all(q.f, p->canon->text, p->canon->len, &crc);
    uint32_t head_crc = crc;
    bad = bad || write_all(q.f, &head_crc, sizeof head_crc, &crc) ||
              write_all(q.f, n->params, n->n_params * sizeof(float), &crc) ||
              write_all(q.f, n->state, n->n_state * sizeof(float), &crc);
    for (int i = 0; i < n->n_layers && !bad; i++)
        bad = write_all(q.f, &n->layers[i].obs, sizeof(obs_act), &crc);
    if (!bad)
        bad = write_all(q.f, optim_state(p->opt), h->opt_bytes, &crc) ||
              write_all(q.f, p->csv, h->csv_bytes, &crc) ||
              write_all(q.f, &crc, sizeof crc, &ignored);
    if (bad) {
        int err = errno ? errno : EIO; /* before qfile_abort's own calls */
        qfile_abort(&q);
        return qerr_set(e, "%s: write failed: %s", path, strerror(err));
    }
    return qfile_commit(&q, e);
}

/* Reads n bytes into p, adding them to r's CRC (crc: NULL for bytes that it
 * does not cover). */
static int read_all(ckpt_reader *r, void *p, size_t n, int crc)
{
    if (n != 0 && fread(p, 1, n, r->f) != n)
        return -1;
    if (crc)
        r->crc = crc_add(r->crc, p, n);
    return 0;
}

/* Counters (images trained, in the loss) stay below this: far above any
 * run (10^4 epochs of 10^9 batches of 65536 images is 6.6e17), far below
 * INT64_MAX, so adding a batch never overflows. */
#define CKPT_COUNT_MAX (((int64_t)1 << 62) - 1) /* two of them sum below INT64_MAX */

/* x finite and in [lo, hi]. */
static int in_range(double x, double lo, double hi)
{
    return isfinite(x) && x >= lo && x <= hi;
}

/* The header's own fields are in range and within the config's schedule (p);
 * the sizes are checked against the net apart. */
static int header_ok(const ckpt_header *h, const ckpt_parts *p)
{
    int flags_ok = 1;
    const int32_t flags[] = {h->qat, h->observers, h->bn_frozen, h->ptq_done,
                             h->have_float, h->have_best, h->timed_out};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        flags_ok &= flags[i] == 0 || flags[i] == 1;
    if (!flags_ok || h->phase < CKPT_PHASE_PRETRAIN || h->phase > CKPT_PHASE_DONE ||
        h->canon_bytes >= (1u << 20))
        return 0;
    /* the position in the schedule: pretraining, or QAT (done: where QAT stopped) */
    int q = h->phase != CKPT_PHASE_PRETRAIN;
    if (h->epoch < 0 || h->epoch > p->epochs[q] || h->batch < 0 || h->batch > p->batches[q] ||
        h->best_epoch < -1 || h->best_epoch >= (p->epochs[1] > 0 ? p->epochs[1] : 0))
        return 0;
    int counts_ok = h->loss_images >= 0 && h->loss_images <= CKPT_COUNT_MAX;
    int times_ok = in_range(h->elapsed, 0, 1e15) && in_range(h->quant_start, 0, h->elapsed) &&
                   in_range(h->epoch_seconds, 0, 1e15) && isfinite(h->loss_sum);
    for (int i = 0; i < 2; i++) {
        counts_ok &= h->images[i] >= 0 && h->images[i] <= CKPT_COUNT_MAX;
        times_ok &= in_range(h->train_seconds[i], 0, 1e15) && in_range(h->train_cpu[i], 0, 1e15);
    }
    int accs_ok = in_range(h->float_acc, 0, 1) && in_range(h->ptq_acc, 0, 1) &&
                  in_range(h->best_acc, 0, 1);
    return counts_ok && times_ok && accs_ok;
}

void ckpt_read_abort(ckpt_reader *r)
{
    if (r->f)
        fclose(r->f);
    r->f = NULL;
}

/* Closes r and fails with e = "PATH: what". */
static int refuse(ckpt_reader *r, qerr *e, const char *what)
{
    ckpt_read_abort(r);
    return qerr_set(e, "%s: %s", r->path, what);
}

/* The settings the checkpoint was written with (after its header), checked
 * by crc_head and against the config's. */
static int read_settings(ckpt_reader *r, const ckpt_header *h, const ckpt_parts *p, qerr *e)
{
    char *canon = malloc(h->canon_bytes + 1);
    uint32_t head_stored = 0;
    int bad = !canon || read_all(r, canon, h->canon_bytes, 1);
    uint32_t head_crc = r->crc;
    bad = bad || read_all(r, &head_stored, sizeof head_stored, 1);
    int rc = 0;
    if (!canon)
        rc = qerr_set(e, "%s: out of memory", r->path);
    else if (bad)
        rc = qerr_set(e, "%s: truncated checkpoint", r->path);
    else if (head_stored != head_crc)
        rc = qerr_set(e, "%s: corrupt checkpoint (CRC mismatch)", r->path);
    else
        rc = cfgcanon_check(p->canon, canon, h->canon_bytes, p->config_path, r->path, e);
    free(canon);
    return rc;
}

int ckpt_read_begin(ckpt_reader *r, const char *path, const ckpt_parts *p, ckpt_header *h,
                    qerr *e)
{
    r->path = path;
    r->crc = (uint32_t)crc32(0, Z_NULL, 0);
    r->f = NULL;
    if (access(path, F_OK) != 0 && errno == ENOENT)
        return qerr_set(e, "%s: cannot resume: no checkpoint (%s)", path,
                        "run without --resume first");
    int fd = infile_open_regular(path, NULL, e);
    if (fd < 0)
        return -1;
    r->f = fdopen(fd, "rb");
    if (!r->f) {
        int err = errno;
        close(fd);
        return qerr_set(e, "%s: cannot open: %s", path, strerror(err));
    }
    ckpt_header hd;
    if (read_all(r, &hd, sizeof hd, 1) || memcmp(hd.magic, CKPT_MAGIC, 8) != 0)
        return refuse(r, e, "not a qatc checkpoint");
    if (hd.header_bytes != sizeof hd) {
        ckpt_read_abort(r);
        return qerr_set(e, "%s: written by another version or build of qatc (a %u-byte header, "
                        "not %zu); train without --resume", path,
                        (unsigned)hd.header_bytes, sizeof hd);
    }
    if (!header_ok(&hd, p))
        return refuse(r, e, "corrupt checkpoint (header out of range)");
    /* the config it was trained with, before the sizes that follow from it */
    if (read_settings(r, &hd, p, e)) {
        ckpt_read_abort(r);
        return -1;
    }
    const net *n = p->n;
    if (hd.n_layers != (uint32_t)n->n_layers || hd.n_params != n->n_params ||
        hd.n_state != n->n_state || hd.csv_bytes >= p->csv_cap) {
        ckpt_read_abort(r);
        return qerr_set(e, "%s: the checkpoint does not match %s (other layers)", path,
                        p->config_path);
    }
    *h = hd;
    return 0;
}

int ckpt_read_end(ckpt_reader *r, const ckpt_header *h, const ckpt_parts *p, qerr *e)
{
    net *n = p->n;
    uint32_t stored = 0;
    int bad = read_all(r, n->params, h->n_params * sizeof(float), 1) ||
              read_all(r, n->state, h->n_state * sizeof(float), 1);
    for (int i = 0; i < n->n_layers && !bad; i++)
        bad = read_all(r, &n->layers[i].obs, sizeof(obs_act), 1);
    if (!bad && h->opt_bytes != optim_state_bytes(p->opt))
        return refuse(r, e, "the optimizer state does not match the config");
    if (!bad)
        bad = read_all(r, optim_state(p->opt), h->opt_bytes, 1) ||
              read_all(r, p->csv, h->csv_bytes, 1) ||
              read_all(r, &stored, sizeof stored, 0);
    int extra = !bad && fgetc(r->f) != EOF;
    ckpt_read_abort(r);
    if (bad)
        return qerr_set(e, "%s: truncated checkpoint", r->path);
    if (extra || stored != r->crc)
        return qerr_set(e, "%s: corrupt checkpoint (%s)", r->path,
                        extra ? "data after its end" : "CRC mismatch");
    p->csv[h->csv_bytes] = '\0';
    n->qat = h->qat;
    n->bn_frozen = h->bn_frozen;
    n->observers = h->observers; /* the observers' own flags came with them */
    return 0;
}
