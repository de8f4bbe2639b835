/* Tests for checkpoint: a written checkpoint reads back to the same header,
 * arrays, optimizer state and log, laid out as checkpoint.h says; damaged
 * files (truncated, a flipped byte, a header out of range or of another
 * build, data after the end, empty, missing, a FIFO), crafted headers with
 * right CRCs but counters past the schedule or near overflow, and a config
 * with other settings are refused with a message that says why. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "cfgcanon.h"
#include "checkpoint.h"
#include "config.h"
#include "net.h"
#include "optim.h"
#include "rng.h"
#include "tmpdir.h"

#define CSV_CAP 4096

static const char config_text[] =
    "model:\n"
    "  name: ck\n"
    "  input: {shape: [6, 6, 1], scale: 0.00392156862745098, zero_point: -128}\n"
    "  layers:\n"
    "    - conv2d: {out: 4, kernel: 3, pad: 1, bn: true, act: relu, name: c1}\n"
    "    - maxpool: {kernel: 2}\n"
    "    - flatten: {}\n"
    "    - linear: {out: 3}\n"
    "data:\n"
    "  train: {images: img.idx, labels: lbl.idx}\n"
    "  eval: {images: img.idx, labels: lbl.idx}\n"
    "quantization:\n"
    "  train: {epochs: 4, batch: 2, optimizer: {type: sgd, lr: 0.01, momentum: 0.9}}\n";

#define BATCHES 8 /* batches per epoch, as the trainer would count them */

/* One trainer's worth of what a checkpoint holds. */
typedef struct {
    net n;
    optim opt;
    char csv[CSV_CAP];
    ckpt_header h;
} side;

typedef struct {
    char dir[TMPDIR_CAP];
    char config[320], ckpt[320];
    cfg_config cfg;
    cfgcanon canon;
    side a, b;           /* a writes, b reads */
    qerr e;
} fixture;

static int build_side(fixture *f, side *s, uint64_t seed)
{
    qerr e = {{0}};
    const optim_config oc = {.type = OPTIM_SGD, .momentum = 0.9f};
    if (net_build(&s->n, &f->cfg, 2, &e) || optim_build(&s->opt, &oc, s->n.n_params, &e))
        return -1;
    rng_state r;
    rng_seed(&r, seed);
    net_init(&s->n, &r);
    return 0;
}

static ckpt_parts parts_of(fixture *f, side *s)
{
    return (ckpt_parts){&s->n,      &s->opt,   s->csv,
                        sizeof s->csv, &f->canon, f->config,
                        {f->cfg.pretrain.epochs, f->cfg.qat.epochs},
                        {BATCHES, BATCHES}};
}

static int setup(void **state)
{
    if (tmpdir_fixture_new(state, "test_checkpoint", sizeof(fixture)) != 0)
        return -1;
    fixture *f = *state;
    char data[320];
    snprintf(f->config, sizeof f->config, "%s/c.yaml", f->dir);
    snprintf(f->ckpt, sizeof f->ckpt, "%s/ck.ckpt", f->dir);
    snprintf(data, sizeof data, "%s/img.idx", f->dir);
    int bad = tmpdir_write_text(f->config, config_text) || tmpdir_write_text(data, "");
    snprintf(data, sizeof data, "%s/lbl.idx", f->dir);
    bad = bad || tmpdir_write_text(data, "");
    qerr e = {{0}};
    if (bad || cfg_read(f->config, &f->cfg, &e) || cfgcanon_build(&f->canon, f->config, 7, &e) ||
        build_side(f, &f->a, 1) || build_side(f, &f->b, 2))
        return -1;
    /* a's state: everything the checkpoint holds away from its fresh value */
    side *a = &f->a;
    for (size_t i = 0; i < a->n.n_state; i++)
        a->n.state[i] = 0.25f + (float)i;
    for (int l = 0; l < a->n.n_layers; l++)
        obs_act_update_minmax(&a->n.layers[l].obs, -1.0f - (float)l, 2.0f + (float)l);
    *a->opt.step = 12;
    for (size_t i = 0; i < a->opt.n; i++)
        a->opt.buf[i] = 0.5f - (float)i;
    snprintf(a->csv, sizeof a->csv, "0,float,0.5,50.0000,,0.01,1.00\n1,float,0.4,60.0000,,0.01,1.00\n");
    a->n.qat = 1, a->n.bn_frozen = 1, a->n.observers = 0;
    ckpt_header *h = &a->h;
    h->phase = CKPT_PHASE_QAT, h->epoch = 2, h->batch = 3, h->ptq_done = 1;
    rng_seed(&h->rng, 11);
    rng_seed(&h->rng_epoch, 12);
    h->loss_sum = 1.5, h->loss_images = 6, h->epoch_seconds = 0.5, h->elapsed = 9.0;
    h->quant_start = 4.0, h->float_acc = 0.6, h->ptq_acc = 0.55, h->best_acc = 0.58;
    h->have_float = 1, h->have_best = 1, h->best_epoch = 1;
    h->images[0] = 100, h->images[1] = 40;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    side *sides[] = {&f->a, &f->b};
    for (int i = 0; i < 2; i++) {
        net_free(&sides[i]->n);
        optim_free(&sides[i]->opt);
    }
    cfgcanon_free(&f->canon);
    return tmpdir_fixture_free(f);
}

/* a's checkpoint at f->ckpt. */
static void write_a(fixture *f)
{
    ckpt_parts p = parts_of(f, &f->a);
    if (ckpt_write(f->ckpt, &f->a.h, &p, &f->e))
        fail_msg("ckpt_write: %s", f->e.msg);
}

/* Reads the checkpoint at path into b as the trainer does (begin, the
 * optimizer of its phase, end); canon: the config's settings. */
static int read_b(fixture *f, const char *path, const cfgcanon *canon)
{
    ckpt_parts p = parts_of(f, &f->b);
    p.canon = canon;
    ckpt_reader r;
    memset(&f->e, 0, sizeof f->e);
    if (ckpt_read_begin(&r, path, &p, &f->b.h, &f->e))
        return -1;
    return ckpt_read_end(&r, &f->b.h, &p, &f->e);
}

static void test_checkpoint_round_trip(void **state)
{
    fixture *f = *state;
    write_a(f);
    side *a = &f->a, *b = &f->b;
    assert_int_equal(read_b(f, f->ckpt, &f->canon), 0);
    assert_memory_equal(&b->h, &a->h, sizeof a->h);
    assert_memory_equal(b->n.params, a->n.params, a->n.n_params * sizeof(float));
    assert_memory_equal(b->n.state, a->n.state, a->n.n_state * sizeof(float));
    for (int l = 0; l < a->n.n_layers; l++)
        assert_memory_equal(&b->n.layers[l].obs, &a->n.layers[l].obs, sizeof(obs_act));
    assert_int_equal(optim_state_bytes(&b->opt), optim_state_bytes(&a->opt));
    assert_memory_equal(optim_state(&b->opt), optim_state(&a->opt), optim_state_bytes(&a->opt));
    assert_string_equal(b->csv, a->csv);
    assert_int_equal(b->n.qat, 1);
    assert_int_equal(b->n.bn_frozen, 1);
    assert_int_equal(b->n.observers, 0);
}

/* The file is laid out as checkpoint.h says: header (sizes filled in),
 * settings, crc_head, params, state, observers, optimizer, log, crc. */
static void test_checkpoint_layout(void **state)
{
    fixture *f = *state;
    write_a(f);
    const ckpt_header *h = &f->a.h;
    const net *n = &f->a.n;
    size_t len = 0;
    char *file = tmpdir_read(f->ckpt, &len);
    assert_non_null(file);
    assert_memory_equal(file, "QATCCKP1", 8);
    assert_int_equal(h->header_bytes, sizeof(ckpt_header));
    assert_int_equal(h->n_layers, n->n_layers);
    assert_int_equal(h->n_params, n->n_params);
    assert_int_equal(h->n_state, n->n_state);
    assert_int_equal(h->opt_bytes, optim_state_bytes(&f->a.opt));
    assert_int_equal(h->csv_bytes, strlen(f->a.csv));
    assert_int_equal(h->canon_bytes, f->canon.len);
    assert_int_equal(h->qat, 1);
    size_t at = sizeof *h;
    assert_memory_equal(file + at, f->canon.text, f->canon.len);
    at += f->canon.len + 4;
    assert_memory_equal(file + at, n->params, n->n_params * sizeof(float));
    at += n->n_params * sizeof(float);
    assert_memory_equal(file + at, n->state, n->n_state * sizeof(float));
    at += n->n_state * sizeof(float) + (size_t)n->n_layers * sizeof(obs_act);
    assert_memory_equal(file + at, optim_state(&f->a.opt), h->opt_bytes);
    at += h->opt_bytes;
    assert_memory_equal(file + at, f->a.csv, h->csv_bytes);
    assert_int_equal(len, at + h->csv_bytes + 4);
    free(file);
}

/* f->ckpt rewritten as a's checkpoint changed by edit(file, len), which
 * returns the new length. */
static void write_damaged(fixture *f, size_t (*edit)(char *file, size_t len))
{
    write_a(f);
    size_t len = 0;
    char *file = tmpdir_read(f->ckpt, &len);
    assert_non_null(file);
    char *room = realloc(file, len + 16);
    assert_non_null(room);
    len = edit(room, len);
    assert_int_equal(tmpdir_write(f->ckpt, room, len), 0);
    free(room);
}

static size_t truncated(char *file, size_t len) { (void)file; return len - 100; }
static size_t flipped(char *file, size_t len) { file[len / 2] ^= 0x10; return len; }
static size_t phase_out_of_range(char *file, size_t len)
{
    file[offsetof(ckpt_header, phase) + 1] = 125;
    return len;
}
static size_t other_build(char *file, size_t len)
{
    file[offsetof(ckpt_header, header_bytes)] ^= 8;
    return len;
}
static size_t settings_flipped(char *file, size_t len)
{
    file[sizeof(ckpt_header) + 3] ^= 1;
    return len;
}
static size_t appended(char *file, size_t len) { memcpy(file + len, "more", 4); return len + 4; }

/* A header field set to value, both CRCs made right again: a crafted file,
 * which only the range checks can refuse. */
static size_t set_field(char *file, size_t len, size_t off, const void *value, size_t n)
{
    memcpy(file + off, value, n);
    const ckpt_header *h = (const ckpt_header *)file;
    size_t head = sizeof *h + h->canon_bytes;
    uint32_t crc = (uint32_t)crc32(0, (const Bytef *)file, (uInt)head);
    memcpy(file + head, &crc, 4);
    crc = (uint32_t)crc32(0, (const Bytef *)file, (uInt)(len - 4));
    memcpy(file + len - 4, &crc, 4);
    return len;
}
static size_t epoch_int_max(char *file, size_t len)
{
    int32_t v = INT32_MAX;
    return set_field(file, len, offsetof(ckpt_header, epoch), &v, sizeof v);
}
static size_t epoch_past_schedule(char *file, size_t len)
{
    int32_t v = 5; /* the config has 4 QAT epochs */
    return set_field(file, len, offsetof(ckpt_header, epoch), &v, sizeof v);
}
static size_t batch_past_epoch(char *file, size_t len)
{
    int32_t v = BATCHES + 1;
    return set_field(file, len, offsetof(ckpt_header, batch), &v, sizeof v);
}
static size_t images_near_overflow(char *file, size_t len)
{
    int64_t v = INT64_MAX - 1;
    return set_field(file, len, offsetof(ckpt_header, images) + sizeof v, &v, sizeof v);
}
static size_t best_epoch_past(char *file, size_t len)
{
    int32_t v = 4;
    return set_field(file, len, offsetof(ckpt_header, best_epoch), &v, sizeof v);
}
static size_t elapsed_nan(char *file, size_t len)
{
    double v = NAN;
    return set_field(file, len, offsetof(ckpt_header, elapsed), &v, sizeof v);
}
static size_t accuracy_over_1(char *file, size_t len)
{
    double v = 1.5;
    return set_field(file, len, offsetof(ckpt_header, best_acc), &v, sizeof v);
}
static size_t emptied(char *file, size_t len) { (void)file; (void)len; return 0; }

static void test_checkpoint_refuses_damaged_files(void **state)
{
    fixture *f = *state;
    static const struct {
        size_t (*edit)(char *file, size_t len);
        const char *want;
    } cases[] = {
        {truncated, "truncated checkpoint"},
        {flipped, "corrupt checkpoint (CRC mismatch)"},
        {phase_out_of_range, "corrupt checkpoint (header out of range)"},
        {other_build, "written by another version or build of qatc"},
        {settings_flipped, "corrupt checkpoint (CRC mismatch)"},
        {appended, "corrupt checkpoint (data after its end)"},
        {emptied, "not a qatc checkpoint"},
        {epoch_int_max, "corrupt checkpoint (header out of range)"},
        {epoch_past_schedule, "corrupt checkpoint (header out of range)"},
        {batch_past_epoch, "corrupt checkpoint (header out of range)"},
        {images_near_overflow, "corrupt checkpoint (header out of range)"},
        {best_epoch_past, "corrupt checkpoint (header out of range)"},
        {elapsed_nan, "corrupt checkpoint (header out of range)"},
        {accuracy_over_1, "corrupt checkpoint (header out of range)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_damaged(f, cases[i].edit);
        if (read_b(f, f->ckpt, &f->canon) != -1)
            fail_msg("case %zu (%s): read", i, cases[i].want);
        if (!strstr(f->e.msg, cases[i].want) || strncmp(f->e.msg, f->ckpt, strlen(f->ckpt)))
            fail_msg("case %zu: '%s' is not '%s: ...%s...'", i, f->e.msg, f->ckpt, cases[i].want);
    }
    char missing[400];
    snprintf(missing, sizeof missing, "%s/none.ckpt", f->dir);
    assert_int_equal(read_b(f, missing, &f->canon), -1);
    assert_non_null(strstr(f->e.msg, "cannot resume: no checkpoint"));
    /* a FIFO is refused at once, never waited on */
    assert_int_equal(mkfifo(missing, 0600), 0);
    assert_int_equal(read_b(f, missing, &f->canon), -1);
    char want[512];
    snprintf(want, sizeof want, "%s: is not a regular file", missing);
    assert_string_equal(f->e.msg, want);
    unlink(missing);
}

/* A config whose settings changed: refused before anything is read into the
 * net, naming the setting. */
static void test_checkpoint_refuses_other_settings(void **state)
{
    fixture *f = *state;
    write_a(f);
    char other[sizeof config_text + 8];
    snprintf(other, sizeof other, "%s", config_text);
    memcpy(strstr(other, "lr: 0.01"), "lr: 0.02", 8);
    assert_int_equal(tmpdir_write_text(f->config, other), 0);
    cfgcanon canon = {0};
    qerr e = {{0}};
    assert_int_equal(cfgcanon_build(&canon, f->config, 7, &e), 0);
    float first = f->b.n.params[0];
    int rc = read_b(f, f->ckpt, &canon);
    cfgcanon_free(&canon);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(f->e.msg, "lr: 0.02, but"));
    assert_non_null(strstr(f->e.msg, "was trained with 0.01"));
    assert_true(f->b.n.params[0] == first);
}

/* A write that cannot happen fails with the path and leaves nothing. */
static void test_checkpoint_write_fails_cleanly(void **state)
{
    fixture *f = *state;
    char path[400];
    snprintf(path, sizeof path, "%s/no/such/folder/ck.ckpt", f->dir);
    ckpt_parts p = parts_of(f, &f->a);
    assert_int_equal(ckpt_write(path, &f->a.h, &p, &f->e), -1);
    assert_non_null(strstr(f->e.msg, path));
    assert_int_equal(tmpdir_count(f->dir), 3); /* the config and the two data files */
}

/* Each test on a fresh fixture. */
#define TEST(name) TMPDIR_TEST(name)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_checkpoint_round_trip),
        TEST(test_checkpoint_layout),
        TEST(test_checkpoint_refuses_damaged_files),
        TEST(test_checkpoint_refuses_other_settings),
        TEST(test_checkpoint_write_fails_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
