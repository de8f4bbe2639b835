/* Out-of-memory paths: every loader runs once to count its allocations, then
 * once more for each k, with exactly the k-th allocation (malloc, calloc or
 * realloc) failing. Each run must return failure with a message that says
 * memory ran out and leave nothing allocated (blocks still live from the
 * failed run are counted by the wrappers; the sanitize build runs this under
 * ASan as well).
 *
 * The allocation functions are wrapped at link time (-Wl,--wrap=malloc,...:
 * the Makefile gives this test TEST_LDFLAGS), so every call from qatc's code
 * and from this file goes through __wrap_*; libraries (libyaml, zlib, libc)
 * keep their own allocations, which cannot be made to fail here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cfgcanon.h"
#include "checkpoint.h"
#include "config.h"
#include "dataset.h"
#include "frozen_io.h"
#include "idx.h"
#include "net.h"
#include "npy.h"
#include "optim.h"
#include "plan.h"
#include "q8_exec.h"
#include "qmodel.h"
#include "random_model.h"
#include "tmpdir.h"

/* ---- the wrappers ----------------------------------------------------------- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t count, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);

#define LIVE_CAP (1 << 16) /* open addressing; far more than a loader here holds */
#define TOMBSTONE ((void *)1)

static struct {
    int on;             /* counting and tracking */
    long calls;         /* allocations since oom_start */
    long fail_at;       /* the allocation that fails (0-based), -1 for none */
    long live;          /* blocks allocated since oom_start and not freed */
    void *slot[LIVE_CAP];
} oom;

static size_t slot_of(const void *p)
{
    return (size_t)(((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull >> 48) & (LIVE_CAP - 1);
}

static void live_add(void *p)
{
    if (!oom.on || !p)
        return;
    size_t i = slot_of(p);
    for (size_t probe = 0; probe < LIVE_CAP; probe++, i = (i + 1) & (LIVE_CAP - 1))
        if (!oom.slot[i] || oom.slot[i] == TOMBSTONE) {
            oom.slot[i] = p;
            oom.live++;
            return;
        }
    abort(); /* LIVE_CAP blocks live at once: raise it */
}

/* Forgets p if it was allocated while tracking (other blocks are ignored). */
static void live_remove(void *p)
{
    if (!oom.on || !p)
        return;
    size_t i = slot_of(p);
    for (size_t probe = 0; probe < LIVE_CAP && oom.slot[i]; probe++, i = (i + 1) & (LIVE_CAP - 1))
        if (oom.slot[i] == p) {
            oom.slot[i] = TOMBSTONE;
            oom.live--;
            return;
        }
}

/* Whether this allocation is the one to fail. */
static int oom_now(void)
{
    return oom.on && oom.calls++ == oom.fail_at;
}

void *__wrap_malloc(size_t n)
{
    if (oom_now())
        return NULL;
    void *p = __real_malloc(n);
    live_add(p);
    return p;
}

void *__wrap_calloc(size_t count, size_t size)
{
    if (oom_now())
        return NULL;
    void *p = __real_calloc(count, size);
    live_add(p);
    return p;
}

void *__wrap_realloc(void *p, size_t n)
{
    if (oom_now())
        return NULL; /* p stays as it was */
    void *q = __real_realloc(p, n);
    if (q) {
        live_remove(p);
        live_add(q);
    }
    return q;
}

void __wrap_free(void *p)
{
    live_remove(p);
    __real_free(p);
}

/* Starts counting; the allocation numbered fail_at (0-based) will fail. */
static void oom_start(long fail_at)
{
    memset(&oom, 0, sizeof oom);
    oom.fail_at = fail_at;
    oom.on = 1;
}

static void oom_stop(void)
{
    oom.on = 0;
}

/* ---- the loaders ----------------------------------------------------------- */

typedef struct {
    char dir[TMPDIR_CAP];
    char frozen[320], config[320], images[320], images_gz[320], labels[320];
    char big[320], big_gz[320]; /* 3 MB of images: the reader grows its buffer twice */
    char npy_x[320], npy_x_gz[320], npy_y[320], npy_t[320]; /* .npy f4 inputs, i8 labels, f4 targets */
    q_model model;      /* the random model of frozen (for q8_exec_new, plan_build) */
    /* results of one run */
    q_model m;
    cfg_config cfg;
    cfgcanon canon;
    idx_images im;
    idx_labels lb;
    npy_array na;
    dataset ds, part;
    q8_exec *x;
    plan p;
    ckpt_header ck;     /* read from ckpt into the net, optimizer and log below */
    /* a checkpoint of the config's net, written by setup */
    char ckpt[320];
    net net;
    optim opt;
    cfgcanon ck_canon;
    char csv[256];
} fixture;

/* A loader: 0 on success (results in f, freed by its release), or -1 with e set. */
typedef struct {
    const char *name;
    int (*load)(fixture *f, qerr *e);
    void (*release)(fixture *f);
    size_t result_off;   /* where in the fixture its result is, */
    size_t result_size;  /* and its size: zeroed on failure (0: no such promise) */
    int none_of_its_own; /* it makes no allocation itself (only its libraries do) */
} loader;

static int load_frozen(fixture *f, qerr *e) { return frozen_read(f->frozen, &f->m, e); }
static void release_frozen(fixture *f) { q_model_free(&f->m); }

static int load_config(fixture *f, qerr *e) { return cfg_read(f->config, &f->cfg, e); }
static void release_config(fixture *f) { (void)f; }

static int load_canon(fixture *f, qerr *e) { return cfgcanon_build(&f->canon, f->config, 7, e); }
static void release_canon(fixture *f) { cfgcanon_free(&f->canon); }

static int load_images(fixture *f, qerr *e) { return idx_read_images(f->big, &f->im, e); }
static int load_images_gz(fixture *f, qerr *e) { return idx_read_images(f->big_gz, &f->im, e); }
static void release_images(fixture *f) { idx_images_free(&f->im); }

static int load_labels(fixture *f, qerr *e) { return idx_read_labels(f->labels, &f->lb, e); }
static void release_labels(fixture *f) { idx_labels_free(&f->lb); }

static int load_dataset(fixture *f, qerr *e)
{
    dataset_input in = {6, 6, 1, 1.0 / 255, -128};
    return dataset_load(&f->ds, f->images_gz, f->labels, in, 3, e);
}
static void release_dataset(fixture *f) { dataset_free(&f->ds); }

static int load_npy(fixture *f, qerr *e)
{
    return npy_read(f->npy_x, NPY_ONLY(NPY_F4), &f->na, e);
}
static int load_npy_gz(fixture *f, qerr *e)
{
    return npy_read(f->npy_x_gz, NPY_ONLY(NPY_F4), &f->na, e);
}
static int load_npy_int32(fixture *f, qerr *e) { return npy_read_int32(f->npy_y, &f->na, e); }
static void release_npy(fixture *f) { npy_free(&f->na); }

static int load_dataset_npy(fixture *f, qerr *e)
{
    dataset_input in = {6, 6, 1, 0.05, 3};
    return dataset_load(&f->ds, f->npy_x_gz, f->npy_y, in, 3, e);
}
static int load_dataset_targets(fixture *f, qerr *e)
{
    dataset_input in = {6, 6, 1, 0.05, 3};
    dataset_want want = {DATASET_TARGETS, 0, 1, 1, 2};
    return dataset_load_as(&f->ds, f->npy_x, f->npy_t, in, want, e);
}

/* A validation set split off the .npy set (the set itself is freed on failure). */
static int load_split(fixture *f, qerr *e)
{
    if (load_dataset_targets(f, e))
        return -1;
    rng_state r;
    rng_seed(&r, 1);
    if (dataset_split(&f->ds, &f->part, 2, &r, e)) {
        dataset_free(&f->ds);
        return -1;
    }
    return 0;
}
static void release_split(fixture *f)
{
    dataset_free(&f->ds);
    dataset_free(&f->part);
}

static int load_exec(fixture *f, qerr *e)
{
    f->x = q8_exec_new(&f->model, e);
    return f->x ? 0 : -1;
}
static void release_exec(fixture *f) { q8_exec_free(f->x); }

static int load_plan(fixture *f, qerr *e) { return plan_build(&f->model, &f->p, e); }
static void release_plan(fixture *f) { plan_free(&f->p); }

static int load_ckpt(fixture *f, qerr *e)
{
    ckpt_parts p = {&f->net, &f->opt, f->csv, sizeof f->csv, &f->ck_canon, f->config,
                    {1, 1}, {1, 1}};
    ckpt_reader r;
    if (ckpt_read_begin(&r, f->ckpt, &p, &f->ck, e))
        return -1;
    return ckpt_read_end(&r, &f->ck, &p, e);
}
static void release_ckpt(fixture *f) { memset(&f->ck, 0, sizeof f->ck); }

static const loader loaders[] = {
#define RESULT(field) offsetof(fixture, field), sizeof(((fixture *)0)->field)
    {"frozen_read", load_frozen, release_frozen, RESULT(m), 0},
    /* cfg_read fills a fixed-size struct; yx_load's own memory besides libyaml's */
    {"cfg_read", load_config, release_config, 0, 0, 0},
    {"cfgcanon_build", load_canon, release_canon, RESULT(canon), 0},
    {"idx_read_images", load_images, release_images, RESULT(im), 0},
    {"idx_read_images (gzip)", load_images_gz, release_images, RESULT(im), 0},
    {"idx_read_labels", load_labels, release_labels, RESULT(lb), 0},
    {"dataset_load", load_dataset, release_dataset, RESULT(ds), 0},
    {"npy_read", load_npy, release_npy, RESULT(na), 0},
    {"npy_read (gzip)", load_npy_gz, release_npy, RESULT(na), 0},
    {"npy_read_int32", load_npy_int32, release_npy, RESULT(na), 0},
    {"dataset_load (.npy)", load_dataset_npy, release_dataset, RESULT(ds), 0},
    {"dataset_load_as (targets)", load_dataset_targets, release_dataset, RESULT(ds), 0},
    {"dataset_split", load_split, release_split, RESULT(part), 0},
    {"q8_exec_new", load_exec, release_exec, RESULT(x), 0}, /* NULL on failure */
    {"plan_build", load_plan, release_plan, RESULT(p), 0},
    {"ckpt_read", load_ckpt, release_ckpt, RESULT(ck), 0}, /* the header left untouched */
#undef RESULT
};

/* Whether the bytes at p are all zero. */
static int all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

static int setup(void **state)
{
    if (tmpdir_fixture_new(state, "test_oom", sizeof(fixture)) != 0)
        return -1;
    fixture *f = *state;
    snprintf(f->frozen, sizeof f->frozen, "%s/m.frozen.yaml", f->dir);
    snprintf(f->config, sizeof f->config, "%s/c.yaml", f->dir);
    snprintf(f->images, sizeof f->images, "%s/img.idx", f->dir);
    snprintf(f->images_gz, sizeof f->images_gz, "%s/img.idx.gz", f->dir);
    snprintf(f->labels, sizeof f->labels, "%s/lbl.idx", f->dir);
    snprintf(f->big, sizeof f->big, "%s/big.idx", f->dir);
    snprintf(f->big_gz, sizeof f->big_gz, "%s/big.idx.gz", f->dir);
    snprintf(f->npy_x, sizeof f->npy_x, "%s/x.npy", f->dir);
    snprintf(f->npy_x_gz, sizeof f->npy_x_gz, "%s/x.npy.gz", f->dir);
    snprintf(f->npy_y, sizeof f->npy_y, "%s/y.npy", f->dir);
    snprintf(f->npy_t, sizeof f->npy_t, "%s/t.npy", f->dir);
    /* a model with every op, written as a frozen model */
    rng_state r;
    rng_seed(&r, 5);
    random_model_opts o;
    random_model_default_opts(&o);
    o.every_op = 1;
    qerr e = {{0}};
    if (random_model(&r, &o, &f->model) || frozen_write(f->frozen, &f->model, &e))
        return -1;
    /* 5 images 6x6 and their labels */
    uint8_t img[16 + 5 * 36] = {0, 0, 8, 3, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 6};
    for (size_t i = 16; i < sizeof img; i++)
        img[i] = (uint8_t)(i * 37);
    const uint8_t lbl[8 + 5] = {0, 0, 8, 1, 0, 0, 0, 5, 0, 1, 2, 0, 1};
    static const char config[] =
        "model:\n"
        "  name: oom\n"
        "  input: {shape: [6, 6, 1], scale: 0.00392156862745098, zero_point: -128}\n"
        "  layers:\n"
        "    - conv2d: {out: 2, kernel: 3, pad: 1, bn: true, act: relu, name: c1}\n"
        "    - conv2d: {out: 2, kernel: 3, pad: 1}\n"
        "    - add: {with: c1}\n"
        "    - avgpool: {global: true}\n"
        "    - linear: {out: 3}\n"
        "data:\n"
        "  train: {images: img.idx, labels: lbl.idx}\n"
        "  eval: {images: img.idx.gz, labels: lbl.idx}\n"
        "quantization:\n"
        "  train: {epochs: 1, batch: 2, optimizer: {type: sgd, lr: 0.01}}\n";
    if (tmpdir_write(f->images, img, sizeof img) || tmpdir_write_gz(f->images_gz, img, sizeof img) ||
        tmpdir_write(f->labels, lbl, sizeof lbl) || tmpdir_write_text(f->config, config))
        return -1;
    enum { BIG_N = 75, BIG_HW = 200, BIG_BYTES = 16 + BIG_N * BIG_HW * BIG_HW };
    uint8_t *big = calloc(1, BIG_BYTES);
    if (!big)
        return -1;
    memcpy(big, (const uint8_t[16]){0, 0, 8, 3, 0, 0, 0, BIG_N, 0, 0, 0, BIG_HW, 0, 0, 0, BIG_HW},
           16);
    int bad = tmpdir_write(f->big, big, BIG_BYTES) || tmpdir_write_gz(f->big_gz, big, BIG_BYTES);
    free(big);
    if (bad)
        return -1;
    /* 5 inputs 6x6x1 of f4, their int64 labels and 2-value targets, as .npy */
    float x[5 * 36], t[5 * 2];
    int64_t y[5] = {0, 1, 2, 0, 1};
    for (int i = 0; i < 5 * 36; i++)
        x[i] = (float)(i % 17) * 0.3f - 2.0f;
    for (int i = 0; i < 5 * 2; i++)
        t[i] = (float)i;
    npy_array ax = {NPY_F4, 4, {5, 6, 6, 1}, 5 * 36, x}, ay = {NPY_I8, 1, {5}, 5, y},
              at = {NPY_F4, 2, {5, 2}, 10, t};
    uint8_t raw[1024];
    size_t hn = npy_header(&ax, 1, raw, sizeof raw);
    memcpy(raw + hn, x, sizeof x);
    if (npy_write(f->npy_x, &ax, 1, &e) || npy_write(f->npy_y, &ay, 2, &e) ||
        npy_write(f->npy_t, &at, 3, &e) || tmpdir_write_gz(f->npy_x_gz, raw, hn + sizeof x))
        return -1;
    /* the checkpoint of a fresh net of the config */
    snprintf(f->ckpt, sizeof f->ckpt, "%s/oom.ckpt", f->dir);
    cfg_config cfg;
    const optim_config oc = {.type = OPTIM_SGD, .momentum = 0.9f};
    if (cfg_read(f->config, &cfg, &e) || net_build(&f->net, &cfg, 2, &e) ||
        optim_build(&f->opt, &oc, f->net.n_params, &e) ||
        cfgcanon_build(&f->ck_canon, f->config, 7, &e))
        return -1;
    net_init(&f->net, &r);
    ckpt_header h = {0};
    ckpt_parts p = {&f->net, &f->opt, f->csv, sizeof f->csv, &f->ck_canon, f->config,
                    {1, 1}, {1, 1}};
    if (ckpt_write(f->ckpt, &h, &p, &e))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    q_model_free(&f->model);
    net_free(&f->net);
    optim_free(&f->opt);
    cfgcanon_free(&f->ck_canon);
    return tmpdir_fixture_free(f);
}

/* Runs loader l failing each of its allocations in turn; returns how many
 * allocations it makes when none fails. */
static long fail_each_allocation(fixture *f, const loader *l)
{
    qerr e = {{0}};
    oom_start(-1);
    int rc = l->load(f, &e);
    long n = oom.calls;
    oom_stop();
    if (rc)
        fail_msg("%s fails with no allocation failing: %s", l->name, e.msg);
    l->release(f);
    if (l->none_of_its_own && n != 0)
        fail_msg("%s now allocates (%ld calls): test its failures (none_of_its_own = 0)",
                 l->name, n);
    if (!l->none_of_its_own && n == 0)
        fail_msg("%s made no allocation: nothing to fail", l->name);
    for (long k = 0; k < n; k++) {
        memset(&e, 0, sizeof e);
        oom_start(k);
        rc = l->load(f, &e);
        long live = oom.live;
        oom_stop();
        if (rc == 0) {
            l->release(f);
            fail_msg("%s: allocation %ld of %ld failed, yet it returned 0", l->name, k + 1, n);
        }
        if (!strstr(e.msg, "out of memory"))
            fail_msg("%s: allocation %ld of %ld failed: message '%s' does not say 'out of memory'",
                     l->name, k + 1, n, e.msg);
        if (live != 0)
            fail_msg("%s: allocation %ld of %ld failed: %ld blocks leaked", l->name, k + 1, n,
                     live);
        if (!all_zero((const char *)f + l->result_off, l->result_size))
            fail_msg("%s: allocation %ld of %ld failed: the result is not zeroed", l->name, k + 1,
                     n);
    }
    return n;
}

static void test_oom_every_loader_fails_cleanly(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i < sizeof loaders / sizeof loaders[0]; i++) {
        long n = fail_each_allocation(f, &loaders[i]);
        if (loaders[i].none_of_its_own)
            printf("  %-26s no allocation of its own\n", loaders[i].name);
        else
            printf("  %-26s %3ld allocations, each failed in turn: -1, 'out of memory', "
                   "no leak\n", loaders[i].name, n);
    }
}

/* The wrappers work: a failed allocation is seen, a leak is counted. */
static void test_oom_wrappers_count_and_fail(void **state)
{
    (void)state;
    /* through pointers, so that the compiler cannot drop the calls */
    void *(*volatile alloc)(size_t) = malloc;
    void *(*volatile zalloc)(size_t, size_t) = calloc;
    oom_start(1);
    void *a = alloc(8), *b = alloc(8), *c = zalloc(2, 8);
    long live = oom.live, calls = oom.calls;
    free(a);
    free(c);
    long after = oom.live;
    oom_stop();
    assert_non_null(a);
    assert_null(b);
    assert_non_null(c);
    assert_int_equal(calls, 3);
    assert_int_equal(live, 2);
    assert_int_equal(after, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oom_wrappers_count_and_fail),
        TMPDIR_TEST(test_oom_every_loader_fails_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
