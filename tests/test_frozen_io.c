/* Tests for frozen_io: the documented examples read and re-write to the same
 * bytes, a version 1 file reads as the same model and writes as version 2,
 * 400 random models (every window form and softmax in half of them)
 * round-trip bit-exactly (doubles included) and re-write byte-identically,
 * malformed files (both versions) are each rejected naming file, line and
 * field, and failed writes leave no file behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "frozen_io.h"
#include "qmodel.h"
#include "random_model.h"
#include "tmpdir.h"

/* The first example of docs/frozen-format.md, byte for byte what frozen_write
 * prints. Layers start on lines 7 (conv2d c1), 22 (add res), 28 (maxpool mp),
 * 35 (dwconv2d dw), 49 (avgpool gap), 56 (flatten fl), 60 (linear fc). */
static const char BASE[] =
    "qatc_frozen: 2\n"
    "# A frozen int8 model written by qatc (docs/frozen-format.md).\n"
    "# real = scale * (q - zero_point); shapes are [h, w, c] (NHWC).\n"
    "name: tiny\n"
    "input: {shape: [4, 4, 2], scale: 0.5, zero_point: -128}\n"
    "layers:\n"
    "  - op: conv2d\n"
    "    name: c1\n"
    "    input: input\n"
    "    kernel: [3, 3]\n"
    "    stride: [1, 1]\n"
    "    pad: [1, 1, 1, 1]\n"
    "    act: relu\n"
    "    output: {shape: [4, 4, 2], scale: 0.25, zero_point: -3}\n"
    "    weight_bits: 8\n"
    "    per_channel: true\n"
    "    weight_scale: [0.01, 0.02]\n"
    "    bias: [100, -100]\n"
    "    weights:  # (2, 3, 3, 2) OHWI: one row per output channel\n"
    "      - [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]\n"
    "      - [-1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11, -12, -13, -14, -15, -16, -17, -18]\n"
    "  - op: add\n"
    "    name: res\n"
    "    input: c1\n"
    "    with: input\n"
    "    act: none\n"
    "    output: {shape: [4, 4, 2], scale: 1, zero_point: 0}\n"
    "  - op: maxpool\n"
    "    name: mp\n"
    "    input: res\n"
    "    kernel: [2, 2]\n"
    "    stride: [2, 2]\n"
    "    pad: [0, 0, 0, 0]\n"
    "    output: {shape: [2, 2, 2], scale: 1, zero_point: 0}\n"
    "  - op: dwconv2d\n"
    "    name: dw\n"
    "    input: mp\n"
    "    kernel: [1, 1]\n"
    "    stride: [1, 1]\n"
    "    pad: [0, 0, 0, 0]\n"
    "    act: relu6\n"
    "    output: {shape: [2, 2, 2], scale: 0.0625, zero_point: -128}\n"
    "    weight_bits: 8\n"
    "    per_channel: false\n"
    "    weight_scale: [0.0078125]\n"
    "    bias: [0, 64]\n"
    "    weights:  # (1, 1, 2) HWC: one row per kernel position\n"
    "      - [127, -64]\n"
    "  - op: avgpool\n"
    "    name: gap\n"
    "    input: dw\n"
    "    kernel: [2, 2]\n"
    "    stride: [1, 1]\n"
    "    pad: [0, 0, 0, 0]\n"
    "    output: {shape: [1, 1, 2], scale: 0.05, zero_point: -128}\n"
    "  - op: flatten\n"
    "    name: fl\n"
    "    input: gap\n"
    "    output: {shape: [1, 1, 2], scale: 0.05, zero_point: -128}\n"
    "  - op: linear\n"
    "    name: fc\n"
    "    input: fl\n"
    "    act: none\n"
    "    output: {shape: [1, 1, 3], scale: 0.125, zero_point: 5}\n"
    "    weight_bits: 8\n"
    "    per_channel: false\n"
    "    weight_scale: [0.003]\n"
    "    bias: [1, 2, 3]\n"
    "    weights:  # (3, 2): one row per output, inputs in NHWC order\n"
    "      - [1, 1]\n"
    "      - [0, 0]\n"
    "      - [-127, 127]\n"
    "output: fc\n";

/* The same model as format version 1 wrote it (pads [ph, pw] on convs only,
 * no pad on pools, no weight_bits). */
static const char BASE_V1[] =
    "qatc_frozen: 1\n"
    "# A frozen int8 model written by qatc (docs/frozen-format.md).\n"
    "# real = scale * (q - zero_point); shapes are [h, w, c] (NHWC).\n"
    "name: tiny\n"
    "input: {shape: [4, 4, 2], scale: 0.5, zero_point: -128}\n"
    "layers:\n"
    "  - op: conv2d\n"
    "    name: c1\n"
    "    input: input\n"
    "    kernel: [3, 3]\n"
    "    stride: [1, 1]\n"
    "    pad: [1, 1]\n"
    "    act: relu\n"
    "    output: {shape: [4, 4, 2], scale: 0.25, zero_point: -3}\n"
    "    per_channel: true\n"
    "    weight_scale: [0.01, 0.02]\n"
    "    bias: [100, -100]\n"
    "    weights:  # (2, 3, 3, 2) OHWI: one row per output channel\n"
    "      - [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]\n"
    "      - [-1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11, -12, -13, -14, -15, -16, -17, -18]\n"
    "  - op: add\n"
    "    name: res\n"
    "    input: c1\n"
    "    with: input\n"
    "    act: none\n"
    "    output: {shape: [4, 4, 2], scale: 1, zero_point: 0}\n"
    "  - op: maxpool\n"
    "    name: mp\n"
    "    input: res\n"
    "    kernel: [2, 2]\n"
    "    stride: [2, 2]\n"
    "    output: {shape: [2, 2, 2], scale: 1, zero_point: 0}\n"
    "  - op: dwconv2d\n"
    "    name: dw\n"
    "    input: mp\n"
    "    kernel: [1, 1]\n"
    "    stride: [1, 1]\n"
    "    pad: [0, 0]\n"
    "    act: relu6\n"
    "    output: {shape: [2, 2, 2], scale: 0.0625, zero_point: -128}\n"
    "    per_channel: false\n"
    "    weight_scale: [0.0078125]\n"
    "    bias: [0, 64]\n"
    "    weights:  # (1, 1, 2) HWC: one row per kernel position\n"
    "      - [127, -64]\n"
    "  - op: avgpool\n"
    "    name: gap\n"
    "    input: dw\n"
    "    kernel: [2, 2]\n"
    "    stride: [1, 1]\n"
    "    output: {shape: [1, 1, 2], scale: 0.05, zero_point: -128}\n"
    "  - op: flatten\n"
    "    name: fl\n"
    "    input: gap\n"
    "    output: {shape: [1, 1, 2], scale: 0.05, zero_point: -128}\n"
    "  - op: linear\n"
    "    name: fc\n"
    "    input: fl\n"
    "    act: none\n"
    "    output: {shape: [1, 1, 3], scale: 0.125, zero_point: 5}\n"
    "    per_channel: false\n"
    "    weight_scale: [0.003]\n"
    "    bias: [1, 2, 3]\n"
    "    weights:  # (3, 2): one row per output, inputs in NHWC order\n"
    "      - [1, 1]\n"
    "      - [0, 0]\n"
    "      - [-127, 127]\n"
    "output: fc\n";

/* The second example of docs/frozen-format.md: dilation, pads per side, a
 * channel multiplier, padded pools, the division average pool, softmax.
 * Layers start on lines 7 (conv2d c1), 24 (dwconv2d dw), 42 (maxpool mp),
 * 49 (avgpool ap), 56 (flatten fl), 60 (linear fc), 74 (softmax prob). */
static const char FORMS[] =
    "qatc_frozen: 2\n"
    "# A frozen int8 model written by qatc (docs/frozen-format.md).\n"
    "# real = scale * (q - zero_point); shapes are [h, w, c] (NHWC).\n"
    "name: forms\n"
    "input: {shape: [5, 6, 2], scale: 0.05, zero_point: 3}\n"
    "layers:\n"
    "  - op: conv2d\n"
    "    name: c1\n"
    "    input: input\n"
    "    kernel: [3, 2]\n"
    "    stride: [1, 2]\n"
    "    dilation: [2, 1]\n"
    "    pad: [2, 1, 1, 0]\n"
    "    act: relu\n"
    "    output: {shape: [4, 3, 3], scale: 0.1, zero_point: -128}\n"
    "    weight_bits: 8\n"
    "    per_channel: true\n"
    "    weight_scale: [0.01, 0.02, 0.015]\n"
    "    bias: [10, -20, 30]\n"
    "    weights:  # (3, 3, 2, 2) OHWI: one row per output channel\n"
    "      - [1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12]\n"
    "      - [12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]\n"
    "      - [-127, 0, 127, 0, -64, 64, 0, 32, -32, 0, 16, -16]\n"
    "  - op: dwconv2d\n"
    "    name: dw\n"
    "    input: c1\n"
    "    kernel: [2, 2]\n"
    "    stride: [1, 1]\n"
    "    pad: [0, 1, 1, 0]\n"
    "    multiplier: 2\n"
    "    act: none\n"
    "    output: {shape: [4, 3, 6], scale: 0.2, zero_point: 0}\n"
    "    weight_bits: 8\n"
    "    per_channel: false\n"
    "    weight_scale: [0.03]\n"
    "    bias: [0, 1, 2, 3, 4, 5]\n"
    "    weights:  # (2, 2, 6) HWC: one row per kernel position\n"
    "      - [1, 2, 3, 4, 5, 6]\n"
    "      - [-1, -2, -3, -4, -5, -6]\n"
    "      - [10, 20, 30, 40, 50, 60]\n"
    "      - [7, 7, 7, 7, 7, 7]\n"
    "  - op: maxpool\n"
    "    name: mp\n"
    "    input: dw\n"
    "    kernel: [2, 2]\n"
    "    stride: [2, 2]\n"
    "    pad: [0, 0, 1, 0]\n"
    "    output: {shape: [2, 2, 6], scale: 0.2, zero_point: 0}\n"
    "  - op: avgpool\n"
    "    name: ap\n"
    "    input: mp\n"
    "    kernel: [3, 3]\n"
    "    stride: [2, 2]\n"
    "    pad: [1, 0, 1, 0]\n"
    "    output: {shape: [1, 1, 6], scale: 0.2, zero_point: 0}\n"
    "  - op: flatten\n"
    "    name: fl\n"
    "    input: ap\n"
    "    output: {shape: [1, 1, 6], scale: 0.2, zero_point: 0}\n"
    "  - op: linear\n"
    "    name: fc\n"
    "    input: fl\n"
    "    act: none\n"
    "    output: {shape: [1, 1, 4], scale: 0.25, zero_point: -2}\n"
    "    weight_bits: 4\n"
    "    per_channel: false\n"
    "    weight_scale: [0.18]\n"
    "    bias: [0, 100, -100, 50]\n"
    "    weights:  # (4, 6): one row per output, inputs in NHWC order\n"
    "      - [1, 2, 3, 4, 5, 6]\n"
    "      - [-6, -5, -4, -3, -2, -1]\n"
    "      - [7, 0, 0, 0, 0, -7]\n"
    "      - [0, 0, 4, 4, 0, 0]\n"
    "  - op: softmax\n"
    "    name: prob\n"
    "    input: fc\n"
    "    output: {shape: [1, 1, 4], scale: 0.00390625, zero_point: -128}\n"
    "output: prob\n";

typedef struct {
    char dir[TMPDIR_CAP];
    char path[320];
    char path2[320];
    qerr e;
} fixture;

static int setup(void **state)
{
    if (tmpdir_fixture_new(state, "test_frozen_io", sizeof(fixture)) != 0)
        return -1;
    fixture *f = *state;
    snprintf(f->path, sizeof f->path, "%s/t.yaml", f->dir);
    snprintf(f->path2, sizeof f->path2, "%s/u.yaml", f->dir);
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    unlink(f->path);
    unlink(f->path2);
    int left = tmpdir_remove(f->dir);
    free(f);
    return left == 0 ? 0 : -1; /* a stray temporary file fails the test */
}

static void assert_zeroed(const q_model *m)
{
    q_model zero;
    memset(&zero, 0, sizeof zero);
    assert_memory_equal(m, &zero, sizeof zero);
}

/* Every field of a and b equal, doubles bit for bit (lines are not compared). */
static void assert_models_equal(const q_model *a, const q_model *b, int n)
{
    if (strcmp(a->name, b->name) || memcmp(&a->in_shape, &b->in_shape, sizeof a->in_shape) ||
        memcmp(&a->in_q.scale, &b->in_q.scale, sizeof(double)) ||
        a->in_q.zero_point != b->in_q.zero_point || a->n_layers != b->n_layers)
        fail_msg("model %d: header differs", n);
    for (int i = 0; i < a->n_layers; i++) {
        const q_layer *x = &a->layers[i], *y = &b->layers[i];
        if (x->op != y->op || strcmp(x->name, y->name) || x->input != y->input ||
            x->input2 != y->input2 || x->act != y->act ||
            memcmp(&x->win, &y->win, sizeof x->win) || x->multiplier != y->multiplier ||
            x->weight_bits != y->weight_bits ||
            memcmp(&x->out_shape, &y->out_shape, sizeof x->out_shape) ||
            memcmp(&x->out_q.scale, &y->out_q.scale, sizeof(double)) ||
            x->out_q.zero_point != y->out_q.zero_point || x->per_channel != y->per_channel)
            fail_msg("model %d: layers[%d] (%s) differs in a scalar field", n, i,
                     q_op_names[x->op]);
        int32_t nw = q_layer_weight_count(a, x), oc = q_layer_out_channels(x);
        assert_int_equal(nw, q_layer_weight_count(b, y));
        if (!nw) {
            assert_null(y->weights);
            continue;
        }
        for (int32_t j = 0; j < nw; j++)
            if (x->weights[j] != y->weights[j])
                fail_msg("model %d: layers[%d].weights: first difference at %d: %d vs %d", n, i,
                         (int)j, x->weights[j], y->weights[j]);
        for (int32_t c = 0; c < oc; c++)
            if (x->bias[c] != y->bias[c])
                fail_msg("model %d: layers[%d].bias[%d]: %d vs %d", n, i, (int)c,
                         (int)x->bias[c], (int)y->bias[c]);
        int ns = x->per_channel ? oc : 1;
        if (memcmp(x->w_scale, y->w_scale, sizeof(double) * (size_t)ns))
            fail_msg("model %d: layers[%d].weight_scale differs", n, i);
    }
}

/* ---- the documented example -------------------------------------------- */

static void test_frozen_io_doc_example_is_current(void **state)
{
    (void)state;
    /* make check runs from the top of the checkout */
    char *doc = tmpdir_read("docs/frozen-format.md", NULL);
    assert_non_null(doc);
    assert_non_null(strstr(doc, BASE));
    assert_non_null(strstr(doc, FORMS));
    free(doc);
}

static void test_frozen_io_reads_example(void **state)
{
    fixture *f = *state;
    assert_int_equal(tmpdir_write_text(f->path, BASE), 0);
    q_model m;
    if (frozen_read(f->path, &m, &f->e))
        fail_msg("%s", f->e.msg);
    assert_string_equal(m.name, "tiny");
    assert_int_equal(m.n_layers, 7);
    static const q_op ops[7] = {Q_OP_CONV2D,  Q_OP_ADD,     Q_OP_MAXPOOL, Q_OP_DWCONV2D,
                                Q_OP_AVGPOOL, Q_OP_FLATTEN, Q_OP_LINEAR};
    static const int lines[7] = {7, 22, 28, 35, 49, 56, 60};
    static const int inputs[7] = {0, 1, 2, 3, 4, 5, 6};
    for (int i = 0; i < 7; i++) {
        assert_int_equal(m.layers[i].op, ops[i]);
        assert_int_equal(m.layers[i].line, lines[i]);
        assert_int_equal(m.layers[i].input, inputs[i]);
        assert_int_equal(m.layers[i].weight_bits, m.layers[i].weights ? 8 : 0);
        assert_int_equal(m.layers[i].multiplier, 1);
    }
    assert_int_equal(m.layers[1].input2, 0);
    assert_int_equal(m.layers[0].act, Q_ACT_RELU);
    assert_int_equal(m.layers[3].act, Q_ACT_RELU6);
    assert_true(m.layers[0].w_scale[1] == 0.02);
    assert_int_equal(m.layers[0].weights[17], 18);
    assert_int_equal(m.layers[0].weights[18], -1);
    assert_int_equal(m.layers[6].weights[4], -127);
    assert_int_equal(m.layers[6].bias[2], 3);
    assert_int_equal(m.name_line, 4);
    assert_int_equal(m.input_line, 5);
    assert_true(q_avgpool_rescales(&m, &m.layers[4])); /* gap has a scale of its own */

    /* written back: the same bytes */
    assert_int_equal(frozen_write(f->path2, &m, &f->e), 0);
    char *text = tmpdir_read(f->path2, NULL);
    assert_non_null(text);
    assert_string_equal(text, BASE);
    free(text);
    q_model_free(&m);
}

/* Version 1 still reads: the same model as BASE, and written as BASE. */
static void test_frozen_io_reads_version_1(void **state)
{
    fixture *f = *state;
    q_model a, b;
    assert_int_equal(tmpdir_write_text(f->path, BASE_V1), 0);
    if (frozen_read(f->path, &a, &f->e))
        fail_msg("%s", f->e.msg);
    assert_int_equal(tmpdir_write_text(f->path2, BASE), 0);
    if (frozen_read(f->path2, &b, &f->e))
        fail_msg("%s", f->e.msg);
    assert_models_equal(&a, &b, 0);
    assert_int_equal(a.layers[0].win.pad_bottom, 1);
    assert_int_equal(a.layers[0].win.pad_right, 1);
    assert_int_equal(a.layers[0].win.dilation_h, 1);
    assert_int_equal(frozen_write(f->path2, &a, &f->e), 0);
    char *text = tmpdir_read(f->path2, NULL);
    assert_non_null(text);
    assert_string_equal(text, BASE);
    free(text);
    q_model_free(&a);
    q_model_free(&b);
}

/* The second example: every new field read, and the same bytes written back. */
static void test_frozen_io_reads_forms_example(void **state)
{
    fixture *f = *state;
    assert_int_equal(tmpdir_write_text(f->path, FORMS), 0);
    q_model m;
    if (frozen_read(f->path, &m, &f->e))
        fail_msg("%s", f->e.msg);
    assert_int_equal(m.n_layers, 7);
    static const int lines[7] = {7, 24, 42, 49, 56, 60, 74};
    for (int i = 0; i < 7; i++)
        assert_int_equal(m.layers[i].line, lines[i]);
    const q_window *w = &m.layers[0].win;
    assert_true(w->kernel_h == 3 && w->kernel_w == 2 && w->stride_h == 1 && w->stride_w == 2);
    assert_true(w->dilation_h == 2 && w->dilation_w == 1);
    assert_true(w->pad_top == 2 && w->pad_bottom == 1 && w->pad_left == 1 && w->pad_right == 0);
    assert_int_equal(m.layers[1].multiplier, 2);
    assert_int_equal(m.layers[1].out_shape.c, 6);
    assert_int_equal(m.layers[1].weights[6 + 5], -6); /* row (0, 1), channel 5 */
    assert_int_equal(m.layers[2].win.pad_left, 1);
    assert_false(q_avgpool_rescales(&m, &m.layers[3]));
    assert_int_equal(m.layers[6].op, Q_OP_SOFTMAX);
    assert_true(m.layers[6].out_q.scale == 1.0 / 256);
    unsigned all = 0;
    for (int i = 0; i < m.n_layers; i++)
        all |= q_layer_features(&m, &m.layers[i]);
    assert_int_equal(all, (1u << Q_FEAT_COUNT) - 1);
    assert_int_equal(frozen_write(f->path2, &m, &f->e), 0);
    char *text = tmpdir_read(f->path2, NULL);
    assert_non_null(text);
    assert_string_equal(text, FORMS);
    free(text);
    q_model_free(&m);
}

/* ---- random models ------------------------------------------------------ */

/* 200 random models of the generator's kinds, then 200 with every window form. */
static void test_frozen_io_round_trips_random_models(void **state)
{
    fixture *f = *state;
    rng_state r;
    rng_seed(&r, 4242);
    for (int n = 0; n < 400; n++) {
        random_model_opts o;
        random_model_default_opts(&o);
        o.every_op = n % 2;
        o.end_linear = n % 5 != 0;
        o.breadth = n >= 200;
        o.weight4 = n >= 200;
        q_model a, b;
        assert_int_equal(random_model(&r, &o, &a), 0);
        if (frozen_write(f->path, &a, &f->e))
            fail_msg("model %d: %s", n, f->e.msg);
        if (frozen_read(f->path, &b, &f->e))
            fail_msg("model %d: %s", n, f->e.msg);
        assert_models_equal(&a, &b, n);
        if (frozen_write(f->path2, &b, &f->e))
            fail_msg("model %d: %s", n, f->e.msg);
        size_t la, lb;
        char *ta = tmpdir_read(f->path, &la), *tb = tmpdir_read(f->path2, &lb);
        assert_non_null(ta);
        assert_non_null(tb);
        if (la != lb || memcmp(ta, tb, la))
            fail_msg("model %d: re-written file differs", n);
        free(ta);
        free(tb);
        q_model_free(&a);
        q_model_free(&b);
    }
}

static void test_frozen_io_doubles_round_trip(void **state)
{
    fixture *f = *state;
    assert_int_equal(tmpdir_write_text(f->path, BASE), 0);
    q_model m;
    assert_int_equal(frozen_read(f->path, &m, &f->e), 0);
    /* awkward doubles: 17 digits needed, subnormal-free extremes of the allowed range, 1/255 */
    const double hard[] = {0.1 + 0.2, 1.0 / 255.0, 1e-12, 1e12, 0.0078125000000000017,
                           3.0000000000000004, 123456.78901234567, 2.2250738585072014e-8};
    rng_state r;
    rng_seed(&r, 99);
    for (int k = 0; k < 200; k++) {
        double v = k < 8 ? hard[k] : exp2(-12.0 + 20.0 * rng_uniform(&r)) *
                                           (1.0 + (double)(rng_u64(&r) >> 11) * 0x1p-53);
        m.layers[6].out_q.scale = v; /* the multiplier stays 0.0625 * v / v */
        m.layers[6].w_scale[0] = v;
        if (frozen_write(f->path2, &m, &f->e))
            fail_msg("%.17g: %s", v, f->e.msg);
        q_model b;
        if (frozen_read(f->path2, &b, &f->e))
            fail_msg("%.17g: %s", v, f->e.msg);
        if (memcmp(&b.layers[6].out_q.scale, &v, sizeof v))
            fail_msg("%.17g read back as %.17g", v, b.layers[6].out_q.scale);
        if (memcmp(&b.layers[6].w_scale[0], &v, sizeof v))
            fail_msg("%.17g read back as %.17g", v, b.layers[6].w_scale[0]);
        q_model_free(&b);
    }
    q_model_free(&m);
}

/* Names that YAML 1.1 tools read as booleans or null are quoted, and read back. */
static void test_frozen_io_quotes_yaml_words(void **state)
{
    fixture *f = *state;
    assert_int_equal(tmpdir_write_text(f->path, BASE), 0);
    q_model m, b;
    assert_int_equal(frozen_read(f->path, &m, &f->e), 0);
    snprintf(m.layers[5].name, Q_NAME_MAX, "On");
    snprintf(m.layers[6].name, Q_NAME_MAX, "null");
    snprintf(m.name, Q_NAME_MAX, "yes");
    assert_int_equal(frozen_write(f->path2, &m, &f->e), 0);
    char *text = tmpdir_read(f->path2, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, "\nname: \"yes\"\n"));
    assert_non_null(strstr(text, "    name: \"On\"\n"));
    assert_non_null(strstr(text, "    input: \"On\"\n"));
    assert_non_null(strstr(text, "\noutput: \"null\"\n"));
    free(text);
    if (frozen_read(f->path2, &b, &f->e))
        fail_msg("%s", f->e.msg);
    assert_models_equal(&m, &b, 0);
    assert_string_equal(b.name, "yes");
    q_model_free(&m);
    q_model_free(&b);
}

/* ---- malformed files ---------------------------------------------------- */

typedef struct {
    const char *what;
    const char *old; /* replaced (first occurrence) in BASE ... */
    const char *new; /* ... by this */
    const char *want; /* the message contains this, starting at the file name */
} bad_case;

static const bad_case BAD[] = {
    {"broken YAML", "kernel: [3, 3]", "kernel: [3, 3", "t.yaml:11: YAML syntax error"},
    {"missing key", "    stride: [1, 1]\n    pad: [1, 1, 1, 1]\n", "    pad: [1, 1, 1, 1]\n",
     "t.yaml:7: layers[0].stride: missing"},
    {"unknown key", "    pad: [1, 1, 1, 1]\n", "    pda: [1, 1, 1, 1]\n",
     "t.yaml:12: layers[0].pda: unknown key, did you mean 'pad'?"},
    {"unknown top key", "layers:\n", "layer:\n", "t.yaml:6: layer: unknown key, did you mean 'layers'?"},
    {"key not for this op", "    stride: [2, 2]\n", "    stride: [2, 2]\n    act: relu\n",
     "t.yaml:33: layers[2].act: unknown key (valid keys: op, name, input, kernel, stride, pad, "
     "output)"},
    {"duplicate key", "    input: input\n", "    input: input\n    name: again\n",
     "t.yaml:10: layers[0].name: duplicate key (first on line 8)"},
    {"wrong type: scalar for list", "kernel: [3, 3]", "kernel: 3",
     "t.yaml:10: layers[0].kernel: expected a sequence"},
    {"wrong type: text for number", "scale: 0.25", "scale: abc",
     "t.yaml:14: layers[0].output.scale: expected a number"},
    {"wrong type: quoted integer", "zero_point: -3}", "zero_point: \"-3\"}",
     "t.yaml:14: layers[0].output.zero_point: expected an integer, got the quoted string"},
    {"wrong type: map for list", "bias: [1, 2, 3]", "bias: {a: 1}",
     "t.yaml:68: layers[6].bias: expected a sequence, got a mapping"},
    {"wrong type: bool", "per_channel: true", "per_channel: yes",
     "t.yaml:16: layers[0].per_channel: expected true or false"},
    {"unknown op", "op: maxpool", "op: maxpoll",
     "t.yaml:28: layers[2].op: unknown value 'maxpoll', did you mean 'maxpool'?"},
    {"unknown act", "act: relu6", "act: relu8", "t.yaml:41: layers[3].act: unknown value 'relu8'"},
    {"wrong count: bias", "bias: [100, -100]", "bias: [100]",
     "t.yaml:18: layers[0].bias: expected 2 values (one per output channel), found 1"},
    {"wrong count: weight_scale", "[0.01, 0.02]", "[0.01]",
     "t.yaml:17: layers[0].weight_scale: expected 2 scales (one per output channel), found 1"},
    {"wrong count: weight rows", "      - [0, 0]\n", "",
     "t.yaml:70: layers[6].weights: expected 3 rows of 2 values, found 2 rows"},
    {"wrong count: row length", "      - [-127, 127]", "      - [-127]",
     "t.yaml:72: layers[6].weights[2]: expected 2 values, found 1"},
    {"wrong count: shape", "[4, 4, 2]", "[4, 4]", "t.yaml:5: input.shape: expected 3 integers"},
    {"wrong count: kernel", "kernel: [2, 2]", "kernel: [2, 2, 2]",
     "t.yaml:31: layers[2].kernel: expected 2 integers, found 3"},
    {"wrong count: pad (version 2 has four)", "pad: [0, 0, 0, 0]", "pad: [0, 0]",
     "t.yaml:33: layers[2].pad: expected 4 integers, found 2"},
    {"NaN scale", "scale: 0.125", "scale: nan",
     "t.yaml:64: layers[6].output.scale: expected a finite number"},
    {"YAML NaN scale", "scale: 0.125", "scale: .nan",
     "t.yaml:64: layers[6].output.scale: expected a finite number"},
    {"hex float scale", "scale: 0.125", "scale: 0x1p-3",
     "t.yaml:64: layers[6].output.scale: expected a number, got '0x1p-3'"},
    {"tagged string as scale", "scale: 0.125", "scale: !!str 0.125",
     "t.yaml:64: layers[6].output.scale: expected a number, got '0.125' tagged !!str"},
    {"infinite weight scale", "[0.003]", "[1e999]",
     "t.yaml:67: layers[6].weight_scale[0]: expected a finite number"},
    {"zero scale", "scale: 0.5", "scale: 0", "t.yaml:5: input.scale: 0 is not a finite scale"},
    {"zero-point 200", "zero_point: 5}", "zero_point: 200}",
     "t.yaml:64: layers[6].output.zero_point: 200 is out of range [-128, 127]"},
    {"weight -128", "[1, 2, 3,", "[1, 2, -128,",
     "t.yaml:20: layers[0].weights[0][2]: -128 is out of range [-127, 127]"},
    {"weight 128", "[127, -64]", "[128, -64]",
     "t.yaml:48: layers[3].weights[0][0]: 128 is out of range [-127, 127]"},
    {"bias beyond int32", "bias: [1, 2, 3]", "bias: [1, 2, 2147483648]",
     "t.yaml:68: layers[6].bias[2]: 2147483648 is out of range"},
    {"accumulator overflow", "bias: [100, -100]", "bias: [2147483647, -100]",
     "t.yaml:7: layers[0].bias[0]: |2147483647| + 582930 (K=18 * 127 * 255) overflows"},
    {"version 3", "qatc_frozen: 2", "qatc_frozen: 3",
     "t.yaml:1: qatc_frozen: version 3 is not supported (this qatc reads versions 1 to 2)"},
    {"version 0", "qatc_frozen: 2", "qatc_frozen: 0",
     "t.yaml:1: qatc_frozen: version 0 is not supported"},
    {"forward reference", "input: gap", "input: fc",
     "t.yaml:58: layers[5].input: 'fc' is layers[6], not an earlier layer"},
    {"unknown reference", "with: input", "with: nothere",
     "t.yaml:25: layers[1].with: no tensor named 'nothere'"},
    {"duplicate layer name", "name: fl", "name: mp",
     "t.yaml:57: layers[5].name: 'mp' is already the name of layers[2]"},
    {"model name not an identifier", "name: tiny", "name: tiny-model",
     "t.yaml:4: name: 'tiny-model' is not a C identifier"},
    {"layer name not an identifier", "name: dw", "name: 2dw",
     "t.yaml:36: layers[3].name: '2dw' is not a C identifier"},
    {"stored shape differs", "shape: [4, 4, 2], scale: 0.25", "shape: [4, 3, 2], scale: 0.25",
     "t.yaml:7: layers[0].output.shape: [4, 3, 2] does not match the derived [4, 4, 2]"},
    {"kernel larger than input", "kernel: [2, 2]", "kernel: [5, 2]",
     "t.yaml:28: layers[2].kernel: 5x2 is larger than the input 4x4"},
    {"pad not below kernel", "    pad: [0, 0, 0, 0]\n    act: relu6",
     "    pad: [1, 0, 0, 0]\n    act: relu6",
     "t.yaml:35: layers[3].pad: [1, 0, 0, 0] must each be >= 0 and less than the kernel 1x1"},
    {"zero stride", "stride: [2, 2]", "stride: [0, 2]",
     "t.yaml:32: layers[2].stride[0]: 0 is out of range [1, 16777216]"},
    {"zero dilation", "    pad: [1, 1, 1, 1]\n", "    dilation: [0, 1]\n    pad: [1, 1, 1, 1]\n",
     "t.yaml:12: layers[0].dilation[0]: 0 is out of range [1, 16777216]"},
    {"dilation on a pool", "    stride: [2, 2]\n", "    stride: [2, 2]\n    dilation: [1, 1]\n",
     "t.yaml:33: layers[2].dilation: unknown key (valid keys: op, name, input, kernel, stride, "
     "pad, output)"},
    {"multiplier on conv2d", "    pad: [1, 1, 1, 1]\n", "    pad: [1, 1, 1, 1]\n    multiplier: 2\n",
     "t.yaml:13: layers[0].multiplier: unknown key"},
    {"multiplier 0", "    pad: [0, 0, 0, 0]\n    act: relu6",
     "    pad: [0, 0, 0, 0]\n    multiplier: 0\n    act: relu6",
     "t.yaml:41: layers[3].multiplier: 0 is out of range [1, 16777216]"},
    {"multiplier without its channels", "    pad: [0, 0, 0, 0]\n    act: relu6",
     "    pad: [0, 0, 0, 0]\n    multiplier: 2\n    act: relu6",
     "t.yaml:47: layers[3].bias: expected 4 values (one per output channel), found 2"},
    {"weight_bits 3", "    weight_bits: 8\n    per_channel: true",
     "    weight_bits: 3\n    per_channel: true",
     "t.yaml:15: layers[0].weight_bits: 3 is not supported (8 or 4)"},
    {"weight_bits 16", "    weight_bits: 8\n    per_channel: true",
     "    weight_bits: 16\n    per_channel: true",
     "t.yaml:15: layers[0].weight_bits: 16 is not supported (8 or 4)"},
    {"weight_bits quoted", "    weight_bits: 8\n    per_channel: true",
     "    weight_bits: '4'\n    per_channel: true",
     "t.yaml:15: layers[0].weight_bits: expected an integer, got the quoted string"},
    {"4-bit weight 8", "    weight_bits: 8\n    per_channel: true",
     "    weight_bits: 4\n    per_channel: true",
     "t.yaml:20: layers[0].weights[0][7]: 8 is out of range [-7, 7]"},
    {"4-bit weight -8", "    weight_bits: 8\n    per_channel: false\n    weight_scale: [0.003]",
     "    weight_bits: 4\n    per_channel: false\n    weight_scale: [0.003]",
     "t.yaml:72: layers[6].weights[2][0]: -127 is out of range [-7, 7]"},
    {"weight_bits missing", "    weight_bits: 8\n    per_channel: true", "    per_channel: true",
     "t.yaml:7: layers[0].weight_bits: missing"},
    {"weight_bits on a pool", "    pad: [0, 0, 0, 0]\n    output: {shape: [2, 2, 2]",
     "    pad: [0, 0, 0, 0]\n    weight_bits: 8\n    output: {shape: [2, 2, 2]",
     "t.yaml:34: layers[2].weight_bits: unknown key"},
    {"softmax not last", "op: flatten", "op: softmax",
     "t.yaml:56: layers[5].op: softmax is only allowed as the last layer (7 layers)"},
    {"maxpool changes quantization", "shape: [2, 2, 2], scale: 1, zero_point: 0",
     "shape: [2, 2, 2], scale: 1, zero_point: 1", "t.yaml:28: layers[2].output: maxpool must keep"},
    {"root is a list", BASE, "- a\n- b\n", "t.yaml:1: qatc_frozen: expected a mapping"},
    {"a config, not a frozen model", BASE, "model:\n  name: x\n",
     "t.yaml:1: qatc_frozen: missing: this is not a qatc frozen model"},
    {"empty file", BASE, "", "t.yaml:1: qatc_frozen: missing: the file is empty"},
    {"only a comment", BASE, "# nothing\n", "t.yaml:1: qatc_frozen: missing: the file is empty"},
    {"output not the last layer", "output: fc", "output: fl",
     "t.yaml:73: output: 'fl' is not the last layer 'fc'"},
    {"two documents", "      - [-127, 127]\n", "      - [-127, 127]\n---\nfoo: 1\n",
     "t.yaml:74: more than one YAML document"},
    {"unterminated row", "-11, -12, -13, -14, -15, -16, -17, -18]", "-11, -12",
     "t.yaml:22: YAML syntax error"},
    {"cut after a whole layer", "output: fc\n", "",
     "t.yaml:1: output: missing (the name of the last layer; is the file truncated?)"},
};

/* Cases on the second example (FORMS) and on the version 1 text (BASE_V1). */
static const bad_case BAD_FORMS[] = {
    {"softmax output quantization", "scale: 0.00390625, zero_point: -128",
     "scale: 0.00390625, zero_point: -127",
     "t.yaml:74: layers[6].output: softmax must have scale 0.00390625 and zero_point -128"},
    {"softmax with weights", "    input: fc\n", "    input: fc\n    per_channel: true\n",
     "t.yaml:77: layers[6].per_channel: unknown key (valid keys: op, name, input, output)"},
    {"padded average pool with its own scale",
     "output: {shape: [1, 1, 6], scale: 0.2, zero_point: 0}\n  - op: flatten",
     "output: {shape: [1, 1, 6], scale: 0.3, zero_point: 0}\n  - op: flatten",
     "t.yaml:49: layers[3].pad: [1, 0, 1, 0]: an average pool with padding must keep its input's "
     "scale 0.20000000000000001 and zero_point 0"},
    {"pool pad not below the kernel", "pad: [0, 0, 1, 0]", "pad: [0, 0, 2, 0]",
     "t.yaml:42: layers[2].pad: [0, 0, 2, 0] must each be >= 0 and less than the kernel 2x2"},
    {"dilation beyond the padded input", "dilation: [2, 1]", "dilation: [4, 1]",
     "t.yaml:7: layers[0].kernel: 3x2 (dilated: 9x2) is larger than the padded input 8x7 (pad "
     "2, 1, 1, 0)"},
    {"dilated pad not below the effective kernel", "pad: [2, 1, 1, 0]", "pad: [5, 1, 1, 0]",
     "t.yaml:7: layers[0].pad: [5, 1, 1, 0] must each be >= 0 and less than the kernel 5x2"},
};
static const bad_case BAD_V1[] = {
    {"version 1: four pads", "pad: [1, 1]", "pad: [1, 1, 1, 1]",
     "t.yaml:12: layers[0].pad: expected 2 integers, found 4"},
    {"version 1: dilation", "    pad: [1, 1]\n", "    pad: [1, 1]\n    dilation: [1, 1]\n",
     "t.yaml:13: layers[0].dilation: unknown key"},
    {"version 1: pad on a pool", "    stride: [2, 2]\n", "    stride: [2, 2]\n    pad: [0, 0]\n",
     "t.yaml:32: layers[2].pad: unknown key"},
    {"version 1: weight_bits", "    per_channel: true", "    weight_bits: 8\n    per_channel: true",
     "t.yaml:15: layers[0].weight_bits: unknown key"},
    {"version 1: softmax", "op: flatten", "op: softmax",
     "t.yaml:52: layers[5].op: softmax needs format version 2 (qatc_frozen: 2)"},
};

/* base with the first occurrence of old replaced by new (old == base: all of it). */
static char *mutate_text(const char *base, const char *old, const char *new)
{
    const char *at = old == base ? base : strstr(base, old);
    if (!at)
        fail_msg("'%s' is not in the text", old);
    size_t pre = (size_t)(at - base), lo = strlen(old), ln = strlen(new);
    char *out = malloc(strlen(base) - lo + ln + 1);
    assert_non_null(out);
    memcpy(out, base, pre);
    memcpy(out + pre, new, ln);
    strcpy(out + pre + ln, at + lo);
    return out;
}

static char *mutate(const char *old, const char *new)
{
    return mutate_text(BASE, old, new);
}

/* Reads text (len bytes) from f->path and asserts the failure names want. */
static void expect_bad(fixture *f, const char *what, const char *text, size_t len,
                       const char *want)
{
    assert_int_equal(tmpdir_write(f->path, text, len), 0);
    q_model m;
    memset(&m, 0x5a, sizeof m); /* frozen_read must zero it on failure */
    memset(&f->e, 0, sizeof f->e);
    int rc = frozen_read(f->path, &m, &f->e);
    if (rc != -1)
        fail_msg("%s: accepted", what);
    assert_zeroed(&m);
    const char *slash = strrchr(f->path, '/');
    if (strncmp(f->e.msg, f->path, (size_t)(slash - f->path)) != 0 || !strstr(f->e.msg, want))
        fail_msg("%s: message '%s' does not contain '%s'", what, f->e.msg, want);
}

static void test_frozen_io_rejects_malformed_files(void **state)
{
    fixture *f = *state;
    for (size_t k = 0; k < sizeof BAD / sizeof BAD[0]; k++) {
        char *text = mutate(BAD[k].old, BAD[k].new);
        expect_bad(f, BAD[k].what, text, strlen(text), BAD[k].want);
        free(text);
    }
    for (size_t k = 0; k < sizeof BAD_FORMS / sizeof BAD_FORMS[0]; k++) {
        char *text = mutate_text(FORMS, BAD_FORMS[k].old, BAD_FORMS[k].new);
        expect_bad(f, BAD_FORMS[k].what, text, strlen(text), BAD_FORMS[k].want);
        free(text);
    }
    for (size_t k = 0; k < sizeof BAD_V1 / sizeof BAD_V1[0]; k++) {
        char *text = mutate_text(BASE_V1, BAD_V1[k].old, BAD_V1[k].new);
        expect_bad(f, BAD_V1[k].what, text, strlen(text), BAD_V1[k].want);
        free(text);
    }
}

/* Sizes from the file are bounded before anything is computed from them: a
 * tensor of 2^24 x 2^24 x 2^24 elements, or a kernel of 2^24 x 2^24 taps over
 * 2^24 channels, is one line naming the field, not an overflow or a huge
 * allocation. */
static void test_frozen_io_rejects_huge_sizes(void **state)
{
    fixture *f = *state;
    char *text = mutate("input: {shape: [4, 4, 2]", "input: {shape: [16777216, 16777216, 16777216]");
    expect_bad(f, "huge input", text, strlen(text),
               "t.yaml:5: input.shape: [16777216, 16777216, 16777216] exceeds 16777216 elements");
    free(text);
    text = mutate("kernel: [3, 3]", "kernel: [16777216, 16777216]");
    expect_bad(f, "huge kernel", text, strlen(text), "t.yaml:7: layers[0].kernel: ");
    free(text);
    text = mutate_text(FORMS, "multiplier: 2", "multiplier: 16777216");
    expect_bad(f, "huge multiplier", text, strlen(text),
               "t.yaml:24: layers[1].multiplier: 16777216 must be >= 1 and make at most 16777216 "
               "channels (input 3)");
    free(text);
}

static void test_frozen_io_rejects_empty_layers(void **state)
{
    fixture *f = *state;
    const char *text = "qatc_frozen: 2\nname: x\ninput: {shape: [1, 1, 1], scale: 1, "
                       "zero_point: 0}\nlayers: []\n";
    expect_bad(f, "empty layers", text, strlen(text),
               "t.yaml:4: layers: empty, expected at least one layer");
}

static void test_frozen_io_rejects_binary_garbage(void **state)
{
    fixture *f = *state;
    static const char garbage[] = {'\x7f', 'E', 'L', 'F', '\x02', '\x01', '\x00', '\xff',
                                   '\xfe', '\x80', '\x81', 'q', '\n', '\x00', '\x01'};
    expect_bad(f, "binary garbage", garbage, sizeof garbage, "t.yaml: YAML read error");
    /* random bytes: never accepted, never a crash */
    rng_state r;
    rng_seed(&r, 5);
    char buf[512];
    for (int k = 0; k < 50; k++) {
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = (char)rng_below(&r, 256);
        expect_bad(f, "random bytes", buf, sizeof buf, "t.yaml");
    }
}

/* Every proper prefix of BASE is rejected: a file cut short never reads as a
 * smaller valid model (the final `output` key is missing or incomplete). The
 * only exception is BASE without its final newline, which is complete YAML. */
static void test_frozen_io_rejects_truncated_files(void **state)
{
    fixture *f = *state;
    size_t n = strlen(BASE);
    for (size_t cut = 0; cut < n - 1; cut++) {
        assert_int_equal(tmpdir_write(f->path, BASE, cut), 0);
        q_model m;
        if (frozen_read(f->path, &m, &f->e) == 0)
            fail_msg("prefix of %zu bytes accepted", cut);
        assert_zeroed(&m);
        assert_non_null(strstr(f->e.msg, "t.yaml"));
    }
}

static void test_frozen_io_rejects_missing_file(void **state)
{
    fixture *f = *state;
    q_model m;
    assert_int_equal(frozen_read(f->path, &m, &f->e), -1);
    assert_non_null(strstr(f->e.msg, "t.yaml: cannot open"));
    assert_zeroed(&m);
}

/* ---- writing failures --------------------------------------------------- */

static void test_frozen_io_write_refuses_invalid_model(void **state)
{
    fixture *f = *state;
    assert_int_equal(tmpdir_write_text(f->path, BASE), 0);
    q_model m;
    assert_int_equal(frozen_read(f->path, &m, &f->e), 0);
    m.layers[6].weights[0] = -128;
    /* the existing file is kept as it was */
    assert_int_equal(frozen_write(f->path, &m, &f->e), -1);
    assert_non_null(strstr(f->e.msg, "refusing to write an invalid model"));
    assert_non_null(strstr(f->e.msg, "layers[6].weights[0]"));
    char *text = tmpdir_read(f->path, NULL);
    assert_non_null(text);
    assert_string_equal(text, BASE);
    free(text);
    /* and no new file appears */
    assert_int_equal(frozen_write(f->path2, &m, &f->e), -1);
    assert_int_equal(access(f->path2, F_OK), -1);
    assert_int_equal(tmpdir_count(f->dir), 1);
    q_model_free(&m);
}

static void test_frozen_io_write_to_missing_dir_fails(void **state)
{
    fixture *f = *state;
    assert_int_equal(tmpdir_write_text(f->path, BASE), 0);
    q_model m;
    assert_int_equal(frozen_read(f->path, &m, &f->e), 0);
    char bad[400];
    snprintf(bad, sizeof bad, "%s/no/such/dir/m.yaml", f->dir);
    assert_int_equal(frozen_write(bad, &m, &f->e), -1);
    assert_non_null(strstr(f->e.msg, "m.yaml"));
    assert_int_equal(tmpdir_count(f->dir), 1);
    q_model_free(&m);
}

/* A write that fails half-way (here: the file size limit, which binds even
 * root) returns -1 and leaves neither the target nor a temporary file. */
static void test_frozen_io_write_error_leaves_nothing(void **state)
{
    fixture *f = *state;
    assert_int_equal(tmpdir_write_text(f->path, BASE), 0);
    q_model m;
    assert_int_equal(frozen_read(f->path, &m, &f->e), 0);
    unlink(f->path);
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 256; /* BASE is much longer */
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int rc = frozen_write(f->path2, &m, &f->e);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(f->e.msg, "u.yaml"));
    assert_int_equal(access(f->path2, F_OK), -1);
    assert_int_equal(tmpdir_count(f->dir), 0);
    q_model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frozen_io_doc_example_is_current),
        TMPDIR_TEST(test_frozen_io_reads_example),
        TMPDIR_TEST(test_frozen_io_reads_version_1),
        TMPDIR_TEST(test_frozen_io_reads_forms_example),
        TMPDIR_TEST(test_frozen_io_round_trips_random_models),
        TMPDIR_TEST(test_frozen_io_doubles_round_trip),
        TMPDIR_TEST(test_frozen_io_quotes_yaml_words),
        TMPDIR_TEST(test_frozen_io_rejects_malformed_files),
        TMPDIR_TEST(test_frozen_io_rejects_huge_sizes),
        TMPDIR_TEST(test_frozen_io_rejects_empty_layers),
        TMPDIR_TEST(test_frozen_io_rejects_binary_garbage),
        TMPDIR_TEST(test_frozen_io_rejects_truncated_files),
        TMPDIR_TEST(test_frozen_io_rejects_missing_file),
        TMPDIR_TEST(test_frozen_io_write_refuses_invalid_model),
        TMPDIR_TEST(test_frozen_io_write_to_missing_dir_fails),
        TMPDIR_TEST(test_frozen_io_write_error_leaves_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
