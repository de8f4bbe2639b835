/* Tests of gen/plan: the arena planner and its verifier.
 *
 * Models are built by hand (shapes filled in directly), so these tests need
 * nothing but the planner. Besides hand-checked plans, a byte-level
 * simulation of the run (every arena byte tagged with the tensor that last
 * wrote it) checks plans on random graphs independently of plan_verify, and
 * deliberately corrupted plans must be rejected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plan.h"
#include "rng.h"

/* ---- a tiny model builder (shapes only: the planner reads nothing else) ---- */

static void model_init(q_model *m, int32_t h, int32_t w, int32_t c)
{
    memset(m, 0, sizeof *m);
    strcpy(m->name, "t");
    m->in_shape = (q_shape){h, w, c};
    m->layers = calloc(64, sizeof *m->layers);
    assert_non_null(m->layers);
}

static void model_done(q_model *m)
{
    free(m->layers);
    memset(m, 0, sizeof *m);
}

/* Appends a layer reading tensor `in` (and in2 for add) producing shape s;
 * returns the new tensor's index. */
static int add_layer(q_model *m, q_op op, int in, int in2, int32_t h, int32_t w, int32_t c)
{
    assert_true(m->n_layers < 64);
    q_layer *l = &m->layers[m->n_layers];
    l->op = op;
    snprintf(l->name, sizeof l->name, "l%d", m->n_layers);
    l->input = in;
    l->input2 = in2;
    l->out_shape = (q_shape){h, w, c};
    return ++m->n_layers;
}

static q_shape shape_of(const q_model *m, int t)
{
    return t == 0 ? m->in_shape : m->layers[t - 1].out_shape;
}

static int flatten(q_model *m, int in)
{
    q_shape s = shape_of(m, in);
    return add_layer(m, Q_OP_FLATTEN, in, -1, 1, 1, s.h * s.w * s.c);
}

static int same(q_model *m, q_op op, int in, int in2)
{
    q_shape s = shape_of(m, in);
    return add_layer(m, op, in, in2, s.h, s.w, s.c);
}

/* ---- an independent check: simulate the run byte by byte ---------------- */

/* The tensor whose write produced t's bytes (flatten writes nothing). */
static int written_by(const q_model *m, int t)
{
    while (t > 0 && m->layers[t - 1].op == Q_OP_FLATTEN && t != m->n_layers)
        t = m->layers[t - 1].input;
    return t;
}

/* Runs the plan: each step checks that the bytes of its inputs (in the arena, or scratch
 * in the caller's output buffer) still carry the tag of the tensor that wrote them, then
 * tags its output's bytes (the model output's: the whole output buffer). Returns the
 * first clobbered tensor, or -1 when the plan is safe. */
static int simulate(const q_model *m, const plan *p)
{
    int32_t size = p->arena_size, out_size = p->t[m->n_layers].size;
    int *tag = malloc(((size_t)size + 1) * sizeof *tag);
    int *otag = malloc(((size_t)out_size + 1) * sizeof *otag);
    assert_non_null(tag);
    assert_non_null(otag);
    for (int32_t i = 0; i < size; i++)
        tag[i] = -1;
    for (int32_t i = 0; i < out_size; i++)
        otag[i] = -1;
    int bad = -1;
    for (int l = 0; l < m->n_layers && bad < 0; l++) {
        const q_layer *ly = &m->layers[l];
        if (p->t[l + 1].loc == PLAN_FUSED)
            continue; /* runs inside the next step */
        int ins[2] = {ly->input, ly->op == Q_OP_ADD ? ly->input2 : -1};
        if (p->t[ly->input].loc == PLAN_FUSED) /* the pool of a fused pair reads the conv's input */
            ins[0] = m->layers[ly->input - 1].input;
        for (int k = 0; k < 2 && bad < 0; k++) {
            int x = ins[k];
            if (x < 0 || (p->t[x].loc != PLAN_ARENA && p->t[x].loc != PLAN_SCRATCH))
                continue;
            const int *tags = p->t[x].loc == PLAN_ARENA ? tag : otag;
            for (int32_t i = 0; i < p->t[x].size; i++)
                if (tags[p->t[x].offset + i] != written_by(m, x)) {
                    bad = x;
                    break;
                }
        }
        int o = l + 1;
        if (bad < 0 && (p->t[o].loc == PLAN_ARENA || p->t[o].loc == PLAN_SCRATCH) &&
            written_by(m, o) == o) {
            int *tags = p->t[o].loc == PLAN_ARENA ? tag : otag;
            for (int32_t i = 0; i < p->t[o].size; i++)
                tags[p->t[o].offset + i] = o;
        }
        if (bad < 0 && o == m->n_layers)
            for (int32_t i = 0; i < out_size; i++)
                otag[i] = o;
    }
    free(tag);
    free(otag);
    return bad;
}

/* plan_verify must fail with a message containing `what`. */
static void expect_rejected(const q_model *m, const plan *p, const char *what)
{
    qerr e = {{0}};
    assert_int_equal(plan_verify(m, p, &e), -1);
    if (!strstr(e.msg, what))
        fail_msg("verifier said '%s', expected it to mention '%s'", e.msg, what);
}

/* ---- hand-checked plans ---------------------------------------------------- */

/* input -> a -> b -> c -> out: a and b are live together at step 1, b and c
 * at step 2, so c reuses a's bytes. */
static void test_gen_plan_chain_reuses_bytes(void **state)
{
    (void)state;
    q_model m;
    model_init(&m, 8, 8, 1);
    int a = add_layer(&m, Q_OP_CONV2D, 0, -1, 8, 8, 4);  /* 256 bytes */
    int b = add_layer(&m, Q_OP_CONV2D, a, -1, 8, 8, 2);  /* 128 */
    int c = add_layer(&m, Q_OP_CONV2D, b, -1, 8, 8, 4);  /* 256 */
    int out = add_layer(&m, Q_OP_LINEAR, c, -1, 1, 1, 10);
    plan p;
    qerr e = {{0}};
    assert_int_equal(plan_build(&m, &p, &e), 0);
    assert_int_equal(p.t[0].loc, PLAN_INPUT);
    assert_int_equal(p.t[out].loc, PLAN_OUTPUT);
    assert_int_equal(p.t[a].def, 0);
    assert_int_equal(p.t[a].last, 1);
    assert_int_equal(p.t[c].last, 3);
    assert_int_equal(p.t[out].last, 4);
    /* largest first: a at 0, c at 0 (a is dead by step 2), b after them */
    assert_int_equal(p.t[a].offset, 0);
    assert_int_equal(p.t[c].offset, 0);
    assert_int_equal(p.t[b].offset, 256);
    assert_int_equal(p.arena_size, 384);
    assert_int_equal(p.lower_bound, 384);
    assert_int_equal(simulate(&m, &p), -1);
    plan_free(&p);
    model_done(&m);
}

/* A skip connection keeps its tensor alive across the branch; the add writes
 * in place over the branch's last tensor (which dies there), not over the
 * skip tensor if that is read later. */
static void test_gen_plan_residual_inplace_add(void **state)
{
    (void)state;
    q_model m;
    model_init(&m, 4, 4, 8);
    int s = add_layer(&m, Q_OP_CONV2D, 0, -1, 4, 4, 8);   /* 128, the skip */
    int b1 = same(&m, Q_OP_CONV2D, s, -1);
    int b2 = same(&m, Q_OP_CONV2D, b1, -1);
    int sum = same(&m, Q_OP_ADD, b2, s);                  /* both inputs die here */
    int sum2 = same(&m, Q_OP_ADD, sum, s);                /* s read again: not s */
    (void)sum2;
    int out = add_layer(&m, Q_OP_LINEAR, sum2, -1, 1, 1, 3);
    plan p;
    qerr e = {{0}};
    assert_int_equal(plan_build(&m, &p, &e), 0);
    assert_int_equal(p.t[s].last, sum2 - 1);
    /* sum can take b2's bytes (b2 dies at that add) but not s's (read again) */
    assert_int_equal(p.t[sum].shares, b2);
    assert_int_equal(p.t[sum].offset, p.t[b2].offset);
    assert_int_equal(p.t[sum2].shares, sum);
    assert_int_equal(p.n_inplace, 2);
    assert_int_not_equal(p.t[sum].offset, p.t[s].offset);
    /* three 128-byte buffers are live at step 2 (s, b1, b2) */
    assert_int_equal(p.lower_bound, 384);
    assert_int_equal(p.arena_size, 384);
    assert_int_equal(p.t[out].loc, PLAN_OUTPUT);
    assert_int_equal(simulate(&m, &p), -1);
    plan_free(&p);
    model_done(&m);
}

/* Flatten is a view: same bytes as its input (arena or caller's input);
 * a final flatten is a copy into the output. */
static void test_gen_plan_flatten_is_a_view(void **state)
{
    (void)state;
    q_model m;
    model_init(&m, 2, 3, 4);
    int f0 = flatten(&m, 0);                              /* view of the input */
    int a = add_layer(&m, Q_OP_LINEAR, f0, -1, 1, 1, 6);
    int f1 = flatten(&m, a);                              /* view of a */
    int b = add_layer(&m, Q_OP_LINEAR, f1, -1, 1, 1, 5);
    int out = flatten(&m, b);                             /* copy to the output */
    plan p;
    qerr e = {{0}};
    assert_int_equal(plan_build(&m, &p, &e), 0);
    assert_int_equal(p.t[f0].loc, PLAN_INPUT);
    assert_int_equal(p.t[f1].loc, PLAN_ARENA);
    assert_int_equal(p.t[f1].offset, p.t[a].offset);
    assert_int_equal(p.t[f1].shares, a);
    assert_int_equal(p.t[b].loc, PLAN_ARENA);
    assert_int_equal(p.t[out].loc, PLAN_OUTPUT);
    assert_int_equal(p.t[out].shares, -1);
    assert_int_equal(p.t[b].offset, 8);   /* a (6 bytes) at 0, b (5) aligned after it */
    assert_int_equal(p.arena_size, 16);
    assert_int_equal(p.lower_bound, 11);
    assert_int_equal(simulate(&m, &p), -1);
    plan_free(&p);
    model_done(&m);
}

/* A dense chain whose output is wide (the MLPerf autoencoder's shape, smaller): the
 * hidden tensors dead before the last step live in the caller's output buffer, the
 * arena holds only the last one; the lower bound says so, and the peak step. */
static void test_gen_plan_output_buffer_is_scratch(void **state)
{
    (void)state;
    q_model m;
    model_init(&m, 1, 1, 64);
    int t[6];
    t[0] = add_layer(&m, Q_OP_LINEAR, 0, -1, 1, 1, 16);
    for (int i = 1; i < 5; i++)
        t[i] = add_layer(&m, Q_OP_LINEAR, t[i - 1], -1, 1, 1, i == 2 ? 4 : 16);
    t[5] = add_layer(&m, Q_OP_LINEAR, t[4], -1, 1, 1, 64);
    plan p;
    qerr e = {{0}};
    assert_int_equal(plan_build(&m, &p, &e), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(p.t[t[i]].loc, PLAN_SCRATCH);
    assert_int_equal(p.t[t[4]].loc, PLAN_ARENA); /* read by the step writing the output */
    assert_int_equal(p.t[t[5]].loc, PLAN_OUTPUT);
    assert_int_equal(p.arena_size, 16);
    assert_int_equal(p.lower_bound, 16);
    assert_int_equal(p.peak_step, 4);
    assert_true(p.scratch_size > 0 && p.scratch_size <= 64);
    assert_int_equal(simulate(&m, &p), -1);
    /* a scratch tensor still read by the step that writes the output is refused */
    p.t[t[4]].loc = PLAN_SCRATCH;
    p.t[t[4]].offset = 32;
    expect_rejected(&m, &p, "output buffer while the step writing the output");
    p.t[t[4]].loc = PLAN_ARENA;
    p.t[t[4]].offset = 0;
    /* and one past the output buffer's end */
    p.t[t[3]].offset = 60;
    expect_rejected(&m, &p, "outside the output buffer");
    plan_free(&p);
    model_done(&m);
}

/* One layer: nothing lives in the arena. */
static void test_gen_plan_single_layer_has_no_arena(void **state)
{
    (void)state;
    q_model m;
    model_init(&m, 5, 5, 3);
    add_layer(&m, Q_OP_CONV2D, 0, -1, 5, 5, 7);
    plan p;
    qerr e = {{0}};
    assert_int_equal(plan_build(&m, &p, &e), 0);
    assert_int_equal(p.arena_size, 0);
    assert_int_equal(p.lower_bound, 0);
    plan_free(&p);
    model_done(&m);
}

/* A tensor nobody reads is still written: it needs bytes of its own. */
static void test_gen_plan_dead_tensor_gets_bytes(void **state)
{
    (void)state;
    q_model m;
    model_init(&m, 4, 4, 1);
    int a = add_layer(&m, Q_OP_CONV2D, 0, -1, 4, 4, 2);
    int dead = add_layer(&m, Q_OP_CONV2D, a, -1, 4, 4, 2);
    int b = add_layer(&m, Q_OP_CONV2D, a, -1, 4, 4, 2);
    add_layer(&m, Q_OP_LINEAR, b, -1, 1, 1, 2);
    plan p;
    qerr e = {{0}};
    assert_int_equal(plan_build(&m, &p, &e), 0);
    assert_int_equal(p.t[dead].def, p.t[dead].last);
    assert_int_not_equal(p.t[dead].offset, p.t[a].offset);
    assert_int_equal(simulate(&m, &p), -1);
    plan_free(&p);
    model_done(&m);
}

/* A pool layer reading tensor in with a k x k window moving by stride. */
static int pool(q_model *m, q_op op, int in, int32_t k, int32_t stride)
{
    q_shape s = shape_of(m, in);
    int t = add_layer(m, op, in, -1, (s.h - k) / stride + 1, (s.w - k) / stride + 1, s.c);
    q_layer *l = &m->layers[t - 1];
    l->win.kernel_h = l->win.kernel_w = k;
    l->win.stride_h = l->win.stride_w = stride;
    if (op == Q_OP_AVGPOOL) /* an output scale of its own: the rescaling kind */
        l->out_q.scale = 0.5;
    return t;
}

/* The reference CNN's shapes: conv + 2x2 max pool twice, conv + global
 * average pool. Each conv output is fused away (never stored); a fused step
 * reads the conv's input and writes the pool's output, so those two are live
 * together and the arena holds 3136 + 1568 bytes, not the 15680 of the
 * unfused plan. */
static void test_gen_plan_conv_pool_fused(void **state)
{
    (void)state;
    q_model m;
    model_init(&m, 28, 28, 1);
    int c1 = add_layer(&m, Q_OP_CONV2D, 0, -1, 28, 28, 16);
    int p1 = pool(&m, Q_OP_MAXPOOL, c1, 2, 2);
    int c2 = add_layer(&m, Q_OP_CONV2D, p1, -1, 14, 14, 32);
    int p2 = pool(&m, Q_OP_MAXPOOL, c2, 2, 2);
    int c3 = add_layer(&m, Q_OP_CONV2D, p2, -1, 7, 7, 64);
    int gap = pool(&m, Q_OP_AVGPOOL, c3, 7, 1);
    int f = flatten(&m, gap);
    int out = add_layer(&m, Q_OP_LINEAR, f, -1, 1, 1, 10);
    plan p;
    qerr e = {{0}};
    assert_int_equal(plan_build(&m, &p, &e), 0);
    assert_int_equal(p.n_fused, 3);
    assert_int_equal(p.t[c1].loc, PLAN_FUSED);
    assert_int_equal(p.t[c2].loc, PLAN_FUSED);
    assert_int_equal(p.t[c3].loc, PLAN_FUSED);
    assert_int_equal(p.t[p1].last, p2 - 1); /* read by conv2 at pool2's step */
    assert_int_equal(p.t[p2].last, gap - 1);
    assert_int_equal(p.t[p1].size, 3136);
    assert_int_equal(p.t[p2].size, 1568);
    assert_true(p.t[p2].offset >= 3136 || p.t[p1].offset >= 1568);
    assert_int_equal(p.arena_size, 3136 + 1568);
    assert_int_equal(p.lower_bound, 3136 + 1568);
    assert_int_equal(p.t[out].loc, PLAN_OUTPUT);
    assert_int_equal(simulate(&m, &p), -1);
    assert_int_equal(plan_verify(&m, &p, NULL), 0);

    /* the pool output moved onto the conv input it is computed from (the
     * byte simulation cannot see this: a step reads all before it writes) */
    plan_tensor saved = p.t[p2];
    p.t[p2].offset = p.t[p1].offset;
    expect_rejected(&m, &p, "overlap");
    p.t[p2] = saved;
    plan_free(&p);
    model_done(&m);
}

/* No fusion of the forms the fused loop nests do not walk: a dilated conv2d, a padded
 * pool, an average pool of TFLite's kind (keeping its input's quantization). */
static void test_gen_plan_no_fusion_of_version_2_forms(void **state)
{
    (void)state;
    q_model m;
    model_init(&m, 8, 8, 2);
    int c1 = add_layer(&m, Q_OP_CONV2D, 0, -1, 8, 8, 4);
    m.layers[c1 - 1].win.dilation_h = 2;
    int p1 = pool(&m, Q_OP_MAXPOOL, c1, 2, 2);
    int c2 = add_layer(&m, Q_OP_CONV2D, p1, -1, 4, 4, 4);
    int p2 = pool(&m, Q_OP_MAXPOOL, c2, 2, 2);
    m.layers[p2 - 1].win.pad_bottom = 1;
    int c3 = add_layer(&m, Q_OP_CONV2D, p2, -1, 2, 2, 4);
    int p3 = pool(&m, Q_OP_AVGPOOL, c3, 2, 2);
    m.layers[p3 - 1].out_q = m.layers[c3 - 1].out_q; /* divides */
    int c4 = add_layer(&m, Q_OP_CONV2D, p3, -1, 1, 1, 4);
    pool(&m, Q_OP_AVGPOOL, c4, 1, 1);                      /* rescales: fused */
    plan p;
    qerr e = {{0}};
    assert_int_equal(plan_build(&m, &p, &e), 0);
    assert_int_equal(p.t[c1].loc, PLAN_ARENA);
    assert_int_equal(p.t[c2].loc, PLAN_ARENA);
    assert_int_equal(p.t[c3].loc, PLAN_ARENA);
    assert_int_equal(p.t[c4].loc, PLAN_FUSED);
    assert_int_equal(p.n_fused, 1);
    assert_int_equal(plan_verify(&m, &p, NULL), 0);
    plan_free(&p);
    model_done(&m);
}

/* No fusion where the conv output is needed elsewhere or pool windows
 * overlap; the verifier rejects such a tensor marked fused. */
static void test_gen_plan_fusion_only_when_allowed(void **state)
{
    (void)state;
    q_model m;
    model_init(&m, 8, 8, 2);
    int c1 = add_layer(&m, Q_OP_CONV2D, 0, -1, 8, 8, 4);
    int p1 = pool(&m, Q_OP_MAXPOOL, c1, 3, 1);            /* overlapping windows */
    int c2 = add_layer(&m, Q_OP_CONV2D, p1, -1, 6, 6, 4);
    int p2 = pool(&m, Q_OP_MAXPOOL, c2, 2, 2);
    int s = same(&m, Q_OP_ADD, p2, p2);
    int c3 = add_layer(&m, Q_OP_CONV2D, s, -1, 3, 3, 4);
    int p3 = pool(&m, Q_OP_AVGPOOL, c3, 3, 3);            /* global */
    int c4 = add_layer(&m, Q_OP_CONV2D, p3, -1, 1, 1, 4);
    int p4 = pool(&m, Q_OP_MAXPOOL, c4, 1, 1);
    same(&m, Q_OP_ADD, p4, c4);                           /* c4 read twice */
    plan p;
    qerr e = {{0}};
    assert_int_equal(plan_build(&m, &p, &e), 0);
    assert_int_equal(p.t[c1].loc, PLAN_ARENA);
    assert_int_equal(p.t[c2].loc, PLAN_FUSED);
    assert_int_equal(p.t[c3].loc, PLAN_FUSED);
    assert_int_equal(p.t[c4].loc, PLAN_ARENA);
    assert_int_equal(p.n_fused, 2);
    assert_int_equal(simulate(&m, &p), -1);
    p.t[c1].loc = PLAN_FUSED;
    expect_rejected(&m, &p, "cannot run fused");
    p.t[c1].loc = PLAN_ARENA;
    p.t[c4].loc = PLAN_FUSED;
    expect_rejected(&m, &p, "cannot run fused");
    p.t[c4].loc = PLAN_ARENA;
    p.t[s].loc = PLAN_FUSED; /* not a conv output */
    expect_rejected(&m, &p, "cannot run fused");
    p.t[s].loc = PLAN_ARENA;
    assert_int_equal(plan_verify(&m, &p, NULL), 0);
    plan_free(&p);
    model_done(&m);
}

/* ---- the verifier rejects corrupted plans ---------------------------------- */

/* A model with every kind of sharing, and a valid plan to corrupt. */
static void corruptible(q_model *m, plan *p)
{
    model_init(m, 4, 4, 2);
    int a = add_layer(m, Q_OP_CONV2D, 0, -1, 4, 4, 2);    /* 1: 32 bytes */
    int b = add_layer(m, Q_OP_CONV2D, a, -1, 4, 4, 2);    /* 2 */
    int s = same(m, Q_OP_ADD, b, a);                      /* 3: in place over b or a */
    int f = flatten(m, s);                                /* 4: view of s */
    int c = add_layer(m, Q_OP_LINEAR, f, -1, 1, 1, 6);    /* 5 */
    add_layer(m, Q_OP_LINEAR, c, -1, 1, 1, 3);            /* 6: output */
    qerr e = {{0}};
    assert_int_equal(plan_build(m, p, &e), 0);
    assert_int_equal(p->n_inplace, 1);
    assert_int_equal(simulate(m, p), -1);
}

static void test_gen_plan_verify_rejects_overlap(void **state)
{
    (void)state;
    q_model m;
    plan p;
    corruptible(&m, &p);
    /* b (tensor 2) is written at step 1 while a (1) is read: move b onto a */
    p.t[2].offset = p.t[1].offset;
    expect_rejected(&m, &p, "overlap");
    assert_int_not_equal(simulate(&m, &p), -1);
    plan_free(&p);
    model_done(&m);
}

static void test_gen_plan_verify_rejects_partial_inplace(void **state)
{
    (void)state;
    q_model m;
    plan p;
    corruptible(&m, &p);
    int over = p.t[3].shares;
    assert_true(over == 1 || over == 2);
    /* the add's output shifted by 4 bytes over its input: element i would be
     * written before input i+4 is read */
    p.arena_size += 4;
    p.t[3].offset = p.t[over].offset + 4;
    p.t[4].offset = p.t[3].offset;
    expect_rejected(&m, &p, "overlap");
    plan_free(&p);
    model_done(&m);
}

static void test_gen_plan_verify_rejects_inplace_over_live_input(void **state)
{
    (void)state;
    q_model m;
    model_init(&m, 4, 4, 2);
    int a = add_layer(&m, Q_OP_CONV2D, 0, -1, 4, 4, 2);
    int b = add_layer(&m, Q_OP_CONV2D, a, -1, 4, 4, 2);
    int s = same(&m, Q_OP_ADD, b, a);
    int later = same(&m, Q_OP_ADD, s, a);                  /* a read after the add */
    add_layer(&m, Q_OP_LINEAR, later, -1, 1, 1, 3);
    plan p;
    qerr e = {{0}};
    assert_int_equal(plan_build(&m, &p, &e), 0);
    assert_int_not_equal(p.t[s].offset, p.t[a].offset);
    /* writing s over a clobbers a before step 3 reads it */
    p.t[s].offset = p.t[a].offset;
    p.t[s].shares = a;
    if (p.t[later].shares == s)
        p.t[later].offset = p.t[a].offset;
    expect_rejected(&m, &p, "overlap");
    assert_int_not_equal(simulate(&m, &p), -1);
    plan_free(&p);
    model_done(&m);
}

static void test_gen_plan_verify_rejects_misplaced_view(void **state)
{
    (void)state;
    q_model m;
    plan p;
    corruptible(&m, &p);
    p.arena_size += 64;
    p.t[4].offset = p.arena_size - 32; /* the flatten no longer on its input */
    expect_rejected(&m, &p, "flatten");
    plan_free(&p);
    model_done(&m);
}

static void test_gen_plan_verify_rejects_bad_bounds(void **state)
{
    (void)state;
    q_model m;
    plan p;
    corruptible(&m, &p);
    plan_tensor saved = p.t[5];

    p.t[5].offset = p.arena_size - PLAN_ALIGN; /* runs past the end */
    expect_rejected(&m, &p, "outside the arena");
    p.t[5] = saved;

    p.t[5].offset += 1; /* misaligned */
    expect_rejected(&m, &p, "misaligned");
    p.t[5] = saved;

    p.t[5].size -= 1;
    expect_rejected(&m, &p, "bytes");
    p.t[5] = saved;

    p.arena_size += 2;
    expect_rejected(&m, &p, "multiple");
    p.arena_size -= 2;

    assert_int_equal(plan_verify(&m, &p, NULL), 0);
    plan_free(&p);
    model_done(&m);
}

static void test_gen_plan_verify_rejects_wrong_places(void **state)
{
    (void)state;
    q_model m;
    plan p;
    corruptible(&m, &p);

    p.t[0].loc = PLAN_ARENA;
    expect_rejected(&m, &p, "model input");
    p.t[0].loc = PLAN_INPUT;

    p.t[6].loc = PLAN_ARENA;
    p.t[6].offset = 0;
    expect_rejected(&m, &p, "model output");
    p.t[6].loc = PLAN_OUTPUT;

    plan_loc was = p.t[2].loc;
    p.t[2].loc = PLAN_INPUT;
    expect_rejected(&m, &p, "read-only");
    p.t[2].loc = PLAN_OUTPUT;
    expect_rejected(&m, &p, "output buffer");
    p.t[2].loc = was;

    assert_int_equal(plan_verify(&m, &p, NULL), 0);
    plan_free(&p);
    model_done(&m);
}

/* ---- random graphs --------------------------------------------------------- */

/* A random graph of convs (any earlier tensor as input), adds of equal
 * shapes, pools (2x2 tiling or overlapping, global average) and flattens;
 * channel counts vary so sizes differ. */
static void random_graph(rng_state *r, q_model *m)
{
    model_init(m, 1 + (int32_t)rng_below(r, 6), 1 + (int32_t)rng_below(r, 6),
               1 + (int32_t)rng_below(r, 4));
    int n = 2 + (int)rng_below(r, 40);
    for (int l = 0; l < n; l++) {
        int t = l; /* tensors 0..l exist */
        int in = rng_below(r, 3) ? t : (int)rng_below(r, (uint32_t)t + 1);
        q_shape s = shape_of(m, in);
        uint32_t kind = rng_below(r, 10);
        int in2 = -1;
        if (kind < 3) { /* add: find an earlier tensor of the same shape */
            for (int j = t; j >= 0 && in2 < 0; j--) {
                q_shape s2 = shape_of(m, j);
                if (s2.h == s.h && s2.w == s.w && s2.c == s.c && rng_below(r, 2))
                    in2 = j;
            }
        }
        if (in2 >= 0)
            add_layer(m, Q_OP_ADD, in, in2, s.h, s.w, s.c);
        else if (kind == 4 && s.h >= 2 && s.w >= 2)
            pool(m, rng_below(r, 2) ? Q_OP_MAXPOOL : Q_OP_AVGPOOL, in, 2,
                 1 + (int32_t)rng_below(r, 2));
        else if (kind == 5 && s.h == s.w)
            pool(m, Q_OP_AVGPOOL, in, s.h, 1);
        else if (kind == 3)
            flatten(m, in);
        else if (s.h == 1 && s.w == 1 && rng_below(r, 2))
            add_layer(m, Q_OP_LINEAR, in, -1, 1, 1, 1 + (int32_t)rng_below(r, 40));
        else
            add_layer(m, Q_OP_CONV2D, in, -1, s.h, s.w, 1 + (int32_t)rng_below(r, 6));
    }
}

/* Every plan of a random graph passes the verifier and the simulation, and
 * is no smaller than its lower bound. */
static void test_gen_plan_random_graphs_are_safe(void **state)
{
    (void)state;
    rng_state r;
    rng_seed(&r, 2024);
    int inplace = 0, fused = 0, scratch = 0;
    for (int i = 0; i < 500; i++) {
        q_model m;
        random_graph(&r, &m);
        plan p;
        qerr e = {{0}};
        if (plan_build(&m, &p, &e))
            fail_msg("graph %d: %s", i, e.msg);
        assert_true(p.arena_size >= p.lower_bound);
        int bad = simulate(&m, &p);
        if (bad >= 0)
            fail_msg("graph %d: tensor %d clobbered before it was read", i, bad);
        inplace += p.n_inplace;
        fused += p.n_fused;
        scratch += p.scratch_size > 0;
        plan_free(&p);
        model_done(&m);
    }
    assert_true(inplace > 50); /* the in-place path was exercised */
    assert_true(fused > 50);   /* and conv + pool fusion */
    printf("random graphs with the output buffer as scratch: %d of 500\n", scratch);
    assert_true(scratch > 10); /* and the output buffer as scratch */
}

/* Random corruptions: whenever the simulation finds a clobbered tensor, the
 * verifier must have rejected the plan (it may also reject safe ones: it is
 * conservative about tensors that are written but never read). */
static void test_gen_plan_verify_catches_random_corruption(void **state)
{
    (void)state;
    rng_state r;
    rng_seed(&r, 7);
    int caught = 0;
    for (int i = 0; i < 2000; i++) {
        q_model m;
        random_graph(&r, &m);
        plan p;
        assert_int_equal(plan_build(&m, &p, NULL), 0);
        int t = 1 + (int)rng_below(&r, (uint32_t)m.n_layers);
        if (p.t[t].loc == PLAN_ARENA && p.arena_size > 0) {
            p.t[t].offset = PLAN_ALIGN * (int32_t)rng_below(&r, (uint32_t)p.arena_size / PLAN_ALIGN);
            int32_t end = p.t[t].offset + p.t[t].size;
            if (end > p.arena_size)
                p.arena_size = (end + PLAN_ALIGN - 1) / PLAN_ALIGN * PLAN_ALIGN;
            int rejected = plan_verify(&m, &p, NULL) != 0;
            int clobbered = simulate(&m, &p) >= 0;
            if (clobbered && !rejected)
                fail_msg("graph %d: moving tensor %d clobbers data, the verifier accepted it", i, t);
            caught += clobbered;
        }
        plan_free(&p);
        model_done(&m);
    }
    assert_true(caught > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gen_plan_chain_reuses_bytes),
        cmocka_unit_test(test_gen_plan_residual_inplace_add),
        cmocka_unit_test(test_gen_plan_flatten_is_a_view),
        cmocka_unit_test(test_gen_plan_single_layer_has_no_arena),
        cmocka_unit_test(test_gen_plan_output_buffer_is_scratch),
        cmocka_unit_test(test_gen_plan_dead_tensor_gets_bytes),
        cmocka_unit_test(test_gen_plan_conv_pool_fused),
        cmocka_unit_test(test_gen_plan_fusion_only_when_allowed),
        cmocka_unit_test(test_gen_plan_no_fusion_of_version_2_forms),
        cmocka_unit_test(test_gen_plan_verify_rejects_overlap),
        cmocka_unit_test(test_gen_plan_verify_rejects_partial_inplace),
        cmocka_unit_test(test_gen_plan_verify_rejects_inplace_over_live_input),
        cmocka_unit_test(test_gen_plan_verify_rejects_misplaced_view),
        cmocka_unit_test(test_gen_plan_verify_rejects_bad_bounds),
        cmocka_unit_test(test_gen_plan_verify_rejects_wrong_places),
        cmocka_unit_test(test_gen_plan_random_graphs_are_safe),
        cmocka_unit_test(test_gen_plan_verify_catches_random_corruption),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
