/* Tests for qmodel: accessors, q_act_range, derivation of shapes and of the
 * pass-through quantization, acceptance of random valid models, and one test
 * per rejection rule of q_model_check (each asserting the field it names). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "q8_exec.h"
#include "qmodel.h"
#include "random_model.h"

/* ---- a hand-built model using every op -----------------------------------
 *   t0 input (8, 7, 3)
 *   L0 conv2d   c1   t0  3x3 s1 p1, 4 out, per channel    -> t1 (8, 7, 4)
 *   L1 dwconv2d dw   t1  3x3 s2 p1, per tensor            -> t2 (4, 4, 4)
 *   L2 maxpool  mp   t2  2x2 s2                           -> t3 (2, 2, 4)
 *   L3 avgpool  ap   t3  2x1 s1                           -> t4 (1, 2, 4)
 *   L4 conv2d   c2   t3  1x1 s1 p0, 4 out, per tensor     -> t5 (2, 2, 4)
 *   L5 add      res  t5 + t3                              -> t6 (2, 2, 4)
 *   L6 avgpool  gap  t6  global 2x2                       -> t7 (1, 1, 4)
 *   L7 flatten  fl   t7                                   -> t8 (1, 1, 4)
 *   L8 linear   fc   t8  3 out                            -> t9 (1, 1, 3)
 */

static void set_weights(q_layer *l, int32_t n_weights, int32_t out_c, int n_scales)
{
    l->weights = malloc((size_t)n_weights);
    l->bias = malloc(sizeof(int32_t) * (size_t)out_c);
    l->w_scale = malloc(sizeof(double) * (size_t)n_scales);
    assert_non_null(l->weights);
    assert_non_null(l->bias);
    assert_non_null(l->w_scale);
    for (int32_t j = 0; j < n_weights; j++)
        l->weights[j] = (int8_t)((j * 37) % 255 - 127); /* covers [-127, 127] */
    for (int32_t c = 0; c < out_c; c++)
        l->bias[c] = 1000 * c - 1500;
    for (int c = 0; c < n_scales; c++)
        l->w_scale[c] = 0.01 * (1 + c);
}

static q_layer *layer(q_model *m, int i, q_op op, const char *name, int input)
{
    q_layer *l = &m->layers[i];
    l->op = op;
    snprintf(l->name, sizeof l->name, "%s", name);
    l->input = input;
    l->input2 = -1;
    return l;
}

static void window(q_layer *l, int kh, int kw, int sh, int sw, int ph, int pw)
{
    l->win.kernel_h = kh;
    l->win.kernel_w = kw;
    l->win.stride_h = sh;
    l->win.stride_w = sw;
    l->win.pad_top = l->win.pad_bottom = ph;
    l->win.pad_left = l->win.pad_right = pw;
}

static int setup(void **state)
{
    q_model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    snprintf(m->name, sizeof m->name, "every_op");
    m->in_shape = (q_shape){8, 7, 3};
    m->in_q = (q_quant){1.0 / 255.0, -128};
    m->n_layers = 9;
    m->layers = calloc(9, sizeof *m->layers);
    assert_non_null(m->layers);

    q_layer *l = layer(m, 0, Q_OP_CONV2D, "c1", 0);
    window(l, 3, 3, 1, 1, 1, 1);
    l->out_shape.c = 4;
    l->out_q = (q_quant){0.05, -10};
    l->act = Q_ACT_RELU;
    l->per_channel = 1;
    set_weights(l, 4 * 3 * 3 * 3, 4, 4);

    l = layer(m, 1, Q_OP_DWCONV2D, "dw", 1);
    window(l, 3, 3, 2, 2, 1, 1);
    l->out_q = (q_quant){0.04, 5};
    l->act = Q_ACT_RELU6;
    set_weights(l, 3 * 3 * 4, 4, 1);

    l = layer(m, 2, Q_OP_MAXPOOL, "mp", 2);
    window(l, 2, 2, 2, 2, 0, 0);

    l = layer(m, 3, Q_OP_AVGPOOL, "ap", 3);
    window(l, 2, 1, 1, 1, 0, 0);
    l->out_q = (q_quant){0.03, 0};

    l = layer(m, 4, Q_OP_CONV2D, "c2", 3);
    window(l, 1, 1, 1, 1, 0, 0);
    l->out_shape.c = 4;
    l->out_q = (q_quant){0.06, 3};
    set_weights(l, 4 * 4, 4, 1);

    l = layer(m, 5, Q_OP_ADD, "res", 5);
    l->input2 = 3;
    l->out_q = (q_quant){0.1, -3};
    l->act = Q_ACT_RELU;

    l = layer(m, 6, Q_OP_AVGPOOL, "gap", 6);
    window(l, 2, 2, 1, 1, 0, 0);
    l->out_q = (q_quant){0.1, -128};

    layer(m, 7, Q_OP_FLATTEN, "fl", 7);

    l = layer(m, 8, Q_OP_LINEAR, "fc", 8);
    l->out_shape.c = 3;
    l->out_q = (q_quant){0.2, 0};
    l->per_channel = 1;
    set_weights(l, 3 * 4, 3, 3);

    *state = m;
    return 0;
}

static int teardown(void **state)
{
    q_model *m = *state;
    q_model_free(m);
    free(m);
    return 0;
}

/* Asserts that q_model_check rejects m with a message containing needle. */
static void expect_reject(q_model *m, const char *needle)
{
    qerr e = {{0}};
    int rc = q_model_check(m, "m.yaml", &e);
    if (rc != -1 || !strstr(e.msg, needle))
        fail_msg("expected a rejection naming '%s', got rc %d: '%s'", needle, rc, e.msg);
}

static void expect_accept(q_model *m)
{
    qerr e = {{0}};
    if (q_model_check(m, "m.yaml", &e))
        fail_msg("expected the model to pass, got '%s'", e.msg);
}

static void assert_shape(q_shape s, int h, int w, int c)
{
    if (s.h != h || s.w != w || s.c != c)
        fail_msg("shape [%d, %d, %d], expected [%d, %d, %d]", (int)s.h, (int)s.w, (int)s.c, h,
                 w, c);
}

/* ---- accessors and derivation -------------------------------------------- */

static void test_qmodel_names(void **state)
{
    (void)state;
    assert_string_equal(q_op_names[Q_OP_CONV2D], "conv2d");
    assert_string_equal(q_op_names[Q_OP_DWCONV2D], "dwconv2d");
    assert_string_equal(q_op_names[Q_OP_LINEAR], "linear");
    assert_string_equal(q_op_names[Q_OP_MAXPOOL], "maxpool");
    assert_string_equal(q_op_names[Q_OP_AVGPOOL], "avgpool");
    assert_string_equal(q_op_names[Q_OP_ADD], "add");
    assert_string_equal(q_op_names[Q_OP_FLATTEN], "flatten");
    assert_string_equal(q_op_names[Q_OP_SOFTMAX], "softmax");
    assert_null(q_op_names[Q_OP_COUNT]);
    assert_string_equal(q_act_names[Q_ACT_NONE], "none");
    assert_string_equal(q_act_names[Q_ACT_RELU], "relu");
    assert_string_equal(q_act_names[Q_ACT_RELU6], "relu6");
}

static void test_qmodel_derives_shapes_and_passthrough_quant(void **state)
{
    q_model *m = *state;
    expect_accept(m);
    static const int want[9][3] = {{8, 7, 4}, {4, 4, 4}, {2, 2, 4}, {1, 2, 4}, {2, 2, 4},
                                   {2, 2, 4}, {1, 1, 4}, {1, 1, 4}, {1, 1, 3}};
    for (int i = 0; i < 9; i++)
        assert_shape(m->layers[i].out_shape, want[i][0], want[i][1], want[i][2]);
    assert_shape(q_model_tensor_shape(m, 0), 8, 7, 3);
    assert_shape(q_model_tensor_shape(m, 9), 1, 1, 3);
    /* maxpool and flatten take their input's quantization */
    assert_true(m->layers[2].out_q.scale == 0.04);
    assert_int_equal(m->layers[2].out_q.zero_point, 5);
    assert_true(m->layers[7].out_q.scale == 0.1);
    assert_int_equal(m->layers[7].out_q.zero_point, -128);
    assert_true(q_model_tensor_quant(m, 0).scale == 1.0 / 255.0);
    assert_int_equal(q_model_tensor_quant(m, 3).zero_point, 5);
    /* a second check accepts the derived values */
    expect_accept(m);
}

static void test_qmodel_counts(void **state)
{
    q_model *m = *state;
    expect_accept(m);
    assert_int_equal(q_shape_size((q_shape){8, 7, 3}), 168);
    int32_t want_w[9] = {108, 36, 0, 0, 16, 0, 0, 0, 12};
    int32_t want_c[9] = {4, 4, 0, 0, 4, 0, 0, 0, 3};
    for (int i = 0; i < 9; i++) {
        assert_int_equal(q_layer_weight_count(m, &m->layers[i]), want_w[i]);
        assert_int_equal(q_layer_out_channels(&m->layers[i]), want_c[i]);
    }
}

static void test_qmodel_act_range(void **state)
{
    (void)state;
    int32_t lo, hi;
    q_act_range(Q_ACT_NONE, (q_quant){0.1, 10}, &lo, &hi);
    assert_int_equal(lo, -128);
    assert_int_equal(hi, 127);
    q_act_range(Q_ACT_RELU, (q_quant){0.1, 10}, &lo, &hi);
    assert_int_equal(lo, 10);
    assert_int_equal(hi, 127);
    q_act_range(Q_ACT_RELU, (q_quant){0.1, -128}, &lo, &hi);
    assert_int_equal(lo, -128);
    /* relu6: 6 / 0.1 = 60 steps above the zero-point */
    q_act_range(Q_ACT_RELU6, (q_quant){0.1, 10}, &lo, &hi);
    assert_int_equal(lo, 10);
    assert_int_equal(hi, 70);
    /* 6 / 0.08 = 75 steps: 127 caps 50 + 75 */
    q_act_range(Q_ACT_RELU6, (q_quant){0.08, 50}, &lo, &hi);
    assert_int_equal(hi, 125);
    q_act_range(Q_ACT_RELU6, (q_quant){0.08, 53}, &lo, &hi);
    assert_int_equal(hi, 127);
    /* 6 / 0.0477 = 125.79 rounds to 126; 6 / 0.0479 = 125.26 rounds to 125 */
    q_act_range(Q_ACT_RELU6, (q_quant){0.0477, -128}, &lo, &hi);
    assert_int_equal(hi, -2);
    q_act_range(Q_ACT_RELU6, (q_quant){0.0479, -128}, &lo, &hi);
    assert_int_equal(hi, -3);
    /* tiny scales do not overflow */
    q_act_range(Q_ACT_RELU6, (q_quant){1e-12, -128}, &lo, &hi);
    assert_int_equal(hi, 127);
    /* a scale so large that 6 is below one step: the range is the zero-point alone */
    q_act_range(Q_ACT_RELU6, (q_quant){100.0, 7}, &lo, &hi);
    assert_int_equal(lo, 7);
    assert_int_equal(hi, 7);
}

static void test_qmodel_free_zeroes(void **state)
{
    q_model *m = *state;
    q_model_free(m);
    assert_null(m->layers);
    assert_int_equal(m->n_layers, 0);
    q_model_free(m); /* a zeroed model is fine */
}

/* ---- random models -------------------------------------------------------- */

static void test_qmodel_accepts_random_models(void **state)
{
    (void)state;
    rng_state r;
    rng_seed(&r, 20240601);
    for (int breadth = 0; breadth <= 1; breadth++) {
        int seen[Q_OP_COUNT] = {0}, feat[Q_FEAT_COUNT] = {0};
        int global_pools = 0, branches = 0, per_tensor = 0, per_channel = 0;
        long long max_weights = 0;
        for (int n = 0; n < 1000; n++) {
            random_model_opts o;
            random_model_default_opts(&o);
            o.every_op = n % 2;
            o.breadth = breadth;
            o.weight4 = breadth;
            q_model m;
            if (random_model(&r, &o, &m))
                fail_msg("random model %d: not built", n);
            long long weights = 0;
            for (int i = 0; i < m.n_layers; i++) {
                q_layer *l = &m.layers[i];
                seen[l->op]++;
                q_shape in = q_model_tensor_shape(&m, l->input);
                global_pools += l->op == Q_OP_AVGPOOL && l->win.kernel_h == in.h &&
                                l->win.kernel_w == in.w;
                branches += l->input != i;
                if (l->weights) {
                    per_channel += l->per_channel;
                    per_tensor += !l->per_channel;
                    assert_true(l->weight_bits == 8 || (breadth && l->weight_bits == 4));
                }
                unsigned f = q_layer_features(&m, l);
                for (int j = 0; j < Q_FEAT_COUNT; j++)
                    feat[j] += (f >> j) & 1;
                weights += q_layer_weight_count(&m, l);
            }
            if (o.every_op)
                for (int op = 0; op < Q_OP_SOFTMAX; op++) {
                    int found = 0;
                    for (int i = 0; i < m.n_layers; i++)
                        found |= m.layers[i].op == (q_op)op;
                    if (!found)
                        fail_msg("model %d (every_op) lacks %s", n, q_op_names[op]);
                }
            q_op last = m.layers[m.n_layers - 1].op;
            assert_true(last == Q_OP_LINEAR ||
                        (breadth && last == Q_OP_SOFTMAX &&
                         m.layers[m.n_layers - 2].op == Q_OP_LINEAR));
            if (weights > max_weights)
                max_weights = weights;
            /* Derivation from scratch gives the same shapes: clear them and re-check. */
            q_shape saved[128];
            assert_true(m.n_layers <= 128);
            for (int i = 0; i < m.n_layers; i++) {
                saved[i] = m.layers[i].out_shape;
                m.layers[i].out_shape.h = m.layers[i].out_shape.w = 0;
                if (m.layers[i].op != Q_OP_CONV2D && m.layers[i].op != Q_OP_LINEAR)
                    m.layers[i].out_shape.c = 0;
            }
            qerr e;
            if (q_model_check(&m, "random", &e))
                fail_msg("model %d after clearing shapes: %s", n, e.msg);
            for (int i = 0; i < m.n_layers; i++)
                assert_memory_equal(&saved[i], &m.layers[i].out_shape, sizeof saved[i]);
            q_model_free(&m);
        }
        for (int op = 0; op < Q_OP_SOFTMAX; op++)
            assert_true(seen[op] > 500);
        assert_true(breadth ? seen[Q_OP_SOFTMAX] > 100 : seen[Q_OP_SOFTMAX] == 0);
        for (int j = 0; j < Q_FEAT_COUNT; j++)
            assert_true(breadth ? feat[j] > 100 : feat[j] == 0);
        assert_true(global_pools > 300);
        assert_true(branches > 300);
        assert_true(per_channel > 1000 && per_tensor > 1000);
        print_message("1000 models%s: layers per op conv %d dw %d linear %d max %d avg %d "
                      "(global %d) add %d flatten %d softmax %d; branches %d; most weights "
                      "%lld; dilated %d, asymmetric pad %d, padded pools %d, multiplier %d, "
                      "division avgpool %d\n",
                      breadth ? " with breadth" : "", seen[0], seen[1], seen[2], seen[3],
                      seen[4], global_pools, seen[5], seen[6], seen[7], branches, max_weights,
                      feat[0], feat[1], feat[2], feat[3], feat[4]);
        assert_true(max_weights <= 20000);
    }
}

static void test_qmodel_random_is_deterministic(void **state)
{
    (void)state;
    rng_state r1, r2;
    rng_seed(&r1, 7);
    rng_seed(&r2, 7);
    q_model a, b;
    assert_int_equal(random_model(&r1, NULL, &a), 0);
    assert_int_equal(random_model(&r2, NULL, &b), 0);
    assert_int_equal(a.n_layers, b.n_layers);
    for (int i = 0; i < a.n_layers; i++) {
        assert_memory_equal(&a.layers[i].out_shape, &b.layers[i].out_shape, sizeof(q_shape));
        assert_true(a.layers[i].out_q.scale == b.layers[i].out_q.scale);
        int32_t n = q_layer_weight_count(&a, &a.layers[i]);
        if (n)
            assert_memory_equal(a.layers[i].weights, b.layers[i].weights, (size_t)n);
    }
    q_model_free(&a);
    q_model_free(&b);
}

/* Whether 8 random inputs move random model m's output; counts its outputs
 * at the clamp bounds into *at_bounds of *total. */
static int responds(rng_state *r, const q_model *m, int n, long *at_bounds, long *total)
{
    qerr e;
    q8_exec *x = q8_exec_new(m, &e);
    if (!x)
        fail_msg("model %d: %s", n, e.msg);
    const q_layer *last = &m->layers[m->n_layers - 1];
    int32_t n_in = q_shape_size(m->in_shape), n_out = q_shape_size(last->out_shape);
    int8_t *in = malloc((size_t)n_in), *out = malloc((size_t)n_out);
    int8_t *first = malloc((size_t)n_out);
    assert_true(in && out && first);
    int32_t lo, hi;
    q_act_range(last->act, last->out_q, &lo, &hi);
    int differs = 0;
    for (int k = 0; k < 8; k++) {
        for (int32_t i = 0; i < n_in; i++)
            in[i] = (int8_t)((int)rng_below(r, 256) - 128);
        q8_exec_run(x, in, k ? out : first);
        differs |= k && memcmp(out, first, (size_t)n_out) != 0;
        for (int32_t i = 0; i < n_out; i++) {
            int8_t v = k ? out[i] : first[i];
            *at_bounds += v == lo || v == hi;
        }
        *total += n_out;
    }
    free(in);
    free(out);
    free(first);
    q8_exec_free(x);
    return differs;
}

/* Random models are worth running: most outputs depend on the input (a model
 * whose output is a constant makes a bit-exact comparison weak), with and
 * without breadth. Dead models still occur, mostly through relu on one- or
 * two-channel tensors. */
static void test_qmodel_random_models_respond_to_input(void **state)
{
    (void)state;
    rng_state r;
    rng_seed(&r, 77);
    for (int breadth = 0; breadth <= 1; breadth++) {
        int live = 0, n_models = 200;
        long at_bounds = 0, total = 0;
        for (int n = 0; n < n_models; n++) {
            random_model_opts o;
            random_model_default_opts(&o);
            o.every_op = n % 2;
            o.breadth = breadth;
            o.weight4 = breadth;
            q_model m;
            assert_int_equal(random_model(&r, &o, &m), 0);
            live += responds(&r, &m, n, &at_bounds, &total);
            q_model_free(&m);
        }
        print_message("%d of %d random models%s respond to their input; %.1f%% of outputs at "
                      "the clamp bounds\n", live, n_models, breadth ? " with breadth" : "",
                      100.0 * (double)at_bounds / (double)total);
        assert_true(live >= n_models * 65 / 100);
        assert_true(at_bounds < total / 2);
    }
}

/* ---- one test per rejection rule ------------------------------------------- */

static void test_qmodel_rejects_forward_reference(void **state)
{
    q_model *m = *state;
    m->layers[2].input = 3; /* its own tensor */
    expect_reject(m, "layers[2].input: tensor 3 is not an earlier tensor");
    m->layers[2].input = -1;
    expect_reject(m, "layers[2].input");
}

static void test_qmodel_rejects_add_forward_reference(void **state)
{
    q_model *m = *state;
    m->layers[5].input2 = 6;
    expect_reject(m, "layers[5].with: tensor 6 is not an earlier tensor");
}

static void test_qmodel_rejects_add_shape_mismatch(void **state)
{
    q_model *m = *state;
    m->layers[5].input2 = 2; /* (4, 4, 4) vs (2, 2, 4) */
    expect_reject(m, "layers[5].with: its shape 4x4x4 differs from this layer's input 2x2x4");
}

static void test_qmodel_rejects_kernel_larger_than_padded_input(void **state)
{
    q_model *m = *state;
    m->layers[3].win.kernel_h = 3; /* avgpool on (2, 2, 4) */
    expect_reject(m, "layers[3].kernel: 3x1 is larger than the input 2x2");
}

static void test_qmodel_accepts_kernel_equal_to_padded_input(void **state)
{
    q_model *m = *state;
    m->layers[3].win.kernel_w = 2; /* avgpool 2x2 on (2, 2): the whole input */
    m->layers[4].win.kernel_h = m->layers[4].win.kernel_w = 3; /* conv 3x3 pad 1 on (2, 2) */
    m->layers[4].win.pad_top = m->layers[4].win.pad_bottom = 1;
    m->layers[4].win.pad_left = m->layers[4].win.pad_right = 1;
    free(m->layers[4].weights);
    m->layers[4].weights = calloc(4 * 3 * 3 * 4, 1);
    expect_accept(m);
    assert_shape(m->layers[3].out_shape, 1, 1, 4);
    assert_shape(m->layers[4].out_shape, 2, 2, 4);
}

static void test_qmodel_rejects_bad_stride(void **state)
{
    q_model *m = *state;
    m->layers[1].win.stride_w = 0;
    expect_reject(m, "layers[1].stride: [2, 0] must be in [1,");
    m->layers[1].win.stride_w = -2;
    expect_reject(m, "layers[1].stride");
}

static void test_qmodel_rejects_bad_kernel(void **state)
{
    q_model *m = *state;
    m->layers[0].win.kernel_h = 0;
    expect_reject(m, "layers[0].kernel: [0, 3] must be in [1,");
}

static void test_qmodel_rejects_bad_pad(void **state)
{
    q_model *m = *state;
    m->layers[0].win.pad_top = m->layers[0].win.pad_bottom = 3; /* = kernel */
    expect_reject(m, "layers[0].pad: [3, 3, 1, 1] must each be >= 0 and less than the kernel 3x3");
    m->layers[0].win.pad_top = m->layers[0].win.pad_bottom = -1;
    expect_reject(m, "layers[0].pad");
}

/* Pools take padding (each side below the kernel); an average pool with
 * padding must keep its input's quantization (the division counts what is
 * inside), and pools take no dilation. */
static void test_qmodel_pool_padding(void **state)
{
    q_model *m = *state;
    m->layers[2].win.pad_left = 1; /* maxpool 2x2 s2 on 4x4: [0, 0, 1, 0] -> 2x2 */
    expect_accept(m);
    assert_shape(m->layers[2].out_shape, 2, 2, 4);
    assert_true(q_layer_features(m, &m->layers[2]) & Q_FEAT_POOL_PAD);
    m->layers[2].win.pad_right = 2;
    m->layers[2].out_shape = (q_shape){0, 0, 0};
    expect_reject(m, "layers[2].pad: [0, 0, 1, 2] must each be >= 0 and less than the kernel 2x2");
    m->layers[2].win.pad_right = 0;
    m->layers[2].win.dilation_w = 2;
    expect_reject(m, "layers[2].dilation: [1, 2]: pools take no dilation");
    m->layers[2].win.dilation_w = 1;
    expect_accept(m);

    /* ap: avgpool 2x1 on (2, 2, 4) with its own scale: no padding */
    m->layers[3].win.pad_top = 1;
    m->layers[3].out_shape = (q_shape){0, 0, 0};
    expect_reject(m, "layers[3].pad: [1, 0, 0, 0]: an average pool with padding must keep its "
                     "input's scale 0.040000000000000001 and zero_point 5");
    m->layers[3].out_q = (q_quant){0.04, 5}; /* the division kind */
    expect_accept(m);
    assert_shape(m->layers[3].out_shape, 2, 2, 4);
    assert_false(q_avgpool_rescales(m, &m->layers[3]));
    assert_true(q_avgpool_rescales(m, &m->layers[6]));
    unsigned f = q_layer_features(m, &m->layers[3]);
    assert_true((f & Q_FEAT_POOL_PAD) && (f & Q_FEAT_AVGPOOL_DIV) && (f & Q_FEAT_ASYMMETRIC_PAD));
}

/* Dilation and per-side padding on convs; the features they report. */
static void test_qmodel_conv_dilation_and_asymmetric_pad(void **state)
{
    q_model *m = *state;
    /* c1 3x3 on (8, 7): dilation [2, 1] -> effective 5x3, pads [2, 1, 1, 0] */
    m->layers[0].win.dilation_h = 2;
    m->layers[0].win.dilation_w = 1;
    m->layers[0].win.pad_top = 2;
    m->layers[0].win.pad_bottom = 1;
    m->layers[0].win.pad_right = 0;
    m->layers[0].out_shape = (q_shape){0, 0, 4};
    m->layers[1].out_shape = (q_shape){0, 0, 0};
    for (int i = 2; i < 7; i++)
        m->layers[i].out_shape = (q_shape){0, 0, m->layers[i].out_shape.c};
    m->layers[4].out_shape.c = 4;
    m->layers[6].win.kernel_w = 1; /* the global pool's input becomes 2x1 */
    expect_accept(m);
    assert_shape(m->layers[0].out_shape, 7, 6, 4); /* (8+3-5)/1+1, (7+1-3)/1+1 */
    unsigned f = q_layer_features(m, &m->layers[0]);
    assert_true((f & Q_FEAT_DILATION) && (f & Q_FEAT_ASYMMETRIC_PAD));
    assert_int_equal(q_layer_features(m, &m->layers[4]), 0);
    m->layers[0].win.pad_top = 5; /* >= the effective kernel 5 */
    expect_reject(m, "layers[0].pad: [5, 1, 1, 0] must each be >= 0 and less than the kernel 5x3");
}

/* dwconv2d's channel multiplier: out_c = in_c * M, weights kh*kw*in_c*M in
 * TFLite's order; every other op ignores it. */
static void test_qmodel_multiplier(void **state)
{
    q_model *m = *state;
    q_layer *dw = &m->layers[1];
    free(dw->weights);
    free(dw->bias);
    dw->multiplier = 3;
    dw->weights = calloc(3 * 3 * 4 * 3, 1);
    dw->bias = calloc(12, sizeof *dw->bias);
    assert_non_null(dw->weights && dw->bias);
    /* everything after dw sees 12 channels: rebuild the rest as maxpool, flatten, linear */
    m->layers[2].win = (q_window){2, 2, 2, 2, 1, 1, 0, 0, 0, 0};
    m->n_layers = 3;
    expect_accept(m);
    assert_shape(dw->out_shape, 4, 4, 12);
    assert_int_equal(q_layer_weight_count(m, dw), 108);
    assert_int_equal(q_layer_out_channels(dw), 12);
    assert_true(q_layer_features(m, dw) & Q_FEAT_MULTIPLIER);
    dw->out_shape.c = 4;
    expect_reject(m, "layers[1].output.shape: [4, 4, 4] does not match the derived [4, 4, 12]");
    dw->out_shape.c = 0;
    dw->multiplier = -1;
    expect_reject(m, "layers[1].multiplier: -1 must be >= 1");
    dw->multiplier = 0; /* the default: 1 */
    m->n_layers = 2;
    expect_accept(m);
    assert_int_equal(dw->multiplier, 1);
    assert_shape(dw->out_shape, 4, 4, 4);
    m->n_layers = 9;
    m->layers[0].multiplier = 5; /* ignored on conv2d, normalized */
    dw->out_shape.c = 0;
    m->layers[2].out_shape = (q_shape){0, 0, 0};
    expect_accept(m);
    assert_int_equal(m->layers[0].multiplier, 1);
}

static void test_qmodel_weight_bits(void **state)
{
    q_model *m = *state;
    expect_accept(m);
    for (int i = 0; i < 9; i++)
        assert_int_equal(m->layers[i].weight_bits, m->layers[i].weights ? 8 : 0);
    m->layers[4].weight_bits = 3;
    expect_reject(m, "layers[4].weight_bits: 3 is not supported (8 or 4)");
    m->layers[4].weight_bits = 16;
    expect_reject(m, "layers[4].weight_bits: 16 is not supported (8 or 4)");
    /* 4 bits: the weights must lie in [-7, 7] */
    m->layers[4].weight_bits = 4;
    expect_reject(m, "is outside [-7, 7] (symmetric int4)");
    int32_t nw = q_layer_weight_count(m, &m->layers[4]);
    for (int32_t j = 0; j < nw; j++)
        m->layers[4].weights[j] = (int8_t)(j % 15 - 7); /* covers [-7, 7] */
    expect_accept(m);
    assert_int_equal(m->layers[4].weight_bits, 4);
    assert_true(q_layer_features(m, &m->layers[4]) & Q_FEAT_WEIGHT4);
    assert_false(q_layer_features(m, &m->layers[0]) & Q_FEAT_WEIGHT4);
    m->layers[4].weights[nw - 1] = 8;
    expect_reject(m, "layers[4].weights[");
    m->layers[4].weights[nw - 1] = -8;
    expect_reject(m, "-8 is outside [-7, 7] (symmetric int4)");
    m->layers[4].weights[nw - 1] = 7;
    m->layers[2].weight_bits = 4; /* no weights: ignored, normalized */
    expect_accept(m);
    assert_int_equal(m->layers[2].weight_bits, 0);
    assert_int_equal(q_weight_max(8), 127);
    assert_int_equal(q_weight_max(4), 7);
    assert_int_equal(q_weight_max(5), 0);
    assert_int_equal(q_weight_bytes(23824, 8), 23824);
    assert_int_equal(q_weight_bytes(23824, 4), 11912);
    assert_int_equal(q_weight_bytes(9, 4), 5); /* the last byte holds one weight */
    assert_int_equal(q_weight_bytes(0, 4), 0);
}

/* 4-bit weights bound the accumulator with 7 instead of 127: a bias that
 * would overflow with 8-bit weights fits. */
static void test_qmodel_accumulator_bound_4bit(void **state)
{
    q_model *m = *state;
    /* c1: K = 3*3*3 = 27, bound 27 * 7 * 255 = 48195 with 4-bit weights */
    int32_t nw = q_layer_weight_count(m, &m->layers[0]);
    for (int32_t j = 0; j < nw; j++)
        m->layers[0].weights[j] = (int8_t)(j % 15 - 7);
    m->layers[0].weight_bits = 4;
    int32_t room = INT32_MAX - 48195;
    m->layers[0].bias[1] = room;
    expect_accept(m);
    m->layers[0].bias[1] = room + 1;
    expect_reject(m, "layers[0].bias[1]: |2147435453| + 48195 (K=27 * 7 * 255) overflows");
    m->layers[0].weight_bits = 8;
    m->layers[0].bias[1] = room;
    expect_reject(m, "(K=27 * 127 * 255) overflows");
}

/* softmax: only last, keeps its input's shape, output quantization 1/256 and -128. */
static void test_qmodel_softmax(void **state)
{
    q_model *m = *state;
    q_layer *l = &m->layers[8];
    l->op = Q_OP_SOFTMAX; /* the linear becomes a softmax over fl's 4 values */
    free(l->weights), free(l->bias), free(l->w_scale);
    l->weights = NULL, l->bias = NULL, l->w_scale = NULL;
    l->out_shape = (q_shape){0, 0, 0};
    l->out_q = (q_quant){0, 0};
    expect_accept(m);
    assert_shape(l->out_shape, 1, 1, 4);
    assert_true(l->out_q.scale == 1.0 / 256 && l->out_q.zero_point == -128);
    assert_true(q_layer_features(m, l) & Q_FEAT_SOFTMAX);
    l->out_q.zero_point = 0;
    expect_reject(m, "layers[8].output: softmax must have scale 0.00390625 and zero_point -128");
    l->out_q.zero_point = -128;
    l->act = Q_ACT_RELU;
    expect_reject(m, "layers[8].act: softmax cannot fuse an activation");
    l->act = Q_ACT_NONE;
    /* only as the last layer */
    m->layers[7].op = Q_OP_SOFTMAX;
    m->layers[7].out_q = (q_quant){0, 0};
    expect_reject(m, "layers[7].op: softmax is only allowed as the last layer (9 layers)");
    m->layers[7].op = Q_OP_FLATTEN;
    m->layers[7].out_q = (q_quant){0, 0};
    expect_accept(m);

    /* a row longer than Q_SOFTMAX_MAX_ROW */
    q_layer sm = {.op = Q_OP_SOFTMAX, .name = "sm", .input2 = -1};
    q_model one = {.name = "rows", .in_shape = {1, 1, Q_SOFTMAX_MAX_ROW + 1},
                   .in_q = {1.0, 0}, .n_layers = 1, .layers = &sm};
    expect_reject(&one, "layers[0].input: a softmax row of 2049 values exceeds 2048");
    one.in_shape.c = Q_SOFTMAX_MAX_ROW;
    expect_accept(&one);
}

/* The one shape rule on the new forms: TensorFlow's same (against its
 * formula over a grid), valid, dilation, multiplier. */
static void test_qmodel_geom_forms(void **state)
{
    (void)state;
    q_shape o;
    const char *key;
    char why[200];
    for (int32_t in = 1; in <= 12; in++)
        for (int32_t k = 1; k <= 5; k++)
            for (int32_t d = 1; d <= 3; d++)
                for (int32_t st = 1; st <= 3; st++) {
                    int32_t eff = (k - 1) * d + 1;
                    q_geom g = {.op = Q_OP_CONV2D, .win = {1, k, 1, st, 1, d, 0, 0, 0, 0},
                                .pad_rule = Q_PAD_SAME, .out_c = 2};
                    int32_t out = (in + st - 1) / st;
                    int32_t total = (out - 1) * st + eff - in;
                    total = total < 0 ? 0 : total;
                    assert_int_equal(q_geom_derive(&g, (q_shape){3, in, 1}, (q_shape){0}, &o,
                                                   NULL, &key, why, sizeof why), 0);
                    assert_int_equal(o.w, out);
                    assert_int_equal(g.win.pad_left, total / 2);
                    assert_int_equal(g.win.pad_right, total - total / 2);
                    assert_int_equal(g.pad_rule, Q_PAD_SIDES);
                    q_geom v = {.op = Q_OP_CONV2D, .win = {1, k, 1, st, 1, d, 1, 1, 1, 1},
                                .pad_rule = Q_PAD_VALID, .out_c = 2};
                    int rc = q_geom_derive(&v, (q_shape){3, in, 1}, (q_shape){0}, &o, NULL, &key,
                                           why, sizeof why);
                    if (eff > in) {
                        assert_int_equal(rc, -1);
                        assert_string_equal(key, "kernel");
                    } else {
                        assert_int_equal(rc, 0);
                        assert_int_equal(o.w, (in - eff) / st + 1);
                        assert_int_equal(v.win.pad_left + v.win.pad_right, 0);
                    }
                }
    /* dwconv2d multiplier, weights and depth */
    q_geom g = {.op = Q_OP_DWCONV2D, .win = {3, 2, 1, 1, 2, 1, 2, 2, 0, 1}, .multiplier = 4};
    q_geom_sizes sz;
    assert_int_equal(q_geom_derive(&g, (q_shape){5, 5, 3}, (q_shape){0}, &o, &sz, &key, why,
                                   sizeof why), 0);
    assert_true(o.h == 5 && o.w == 5 && o.c == 12); /* (5+4-5)/1+1, (5+1-2)/1+1 */
    assert_int_equal(sz.depth, 6);
    assert_int_equal(sz.weights, 72);
    g = (q_geom){.op = Q_OP_CONV2D, .win = {1, 1, 1, 1, 1, 1, 0, 0, 0, 0}, .out_c = 2,
                 .multiplier = 2};
    assert_int_equal(q_geom_derive(&g, (q_shape){5, 5, 3}, (q_shape){0}, &o, &sz, &key, why,
                                   sizeof why), -1);
    assert_string_equal(key, "multiplier");
    assert_string_equal(why, "2: only dwconv2d has a channel multiplier");
    g = (q_geom){.op = Q_OP_MAXPOOL, .win = {2, 2, 0, 0, 2, 1, 0, 0, 0, 0}};
    assert_int_equal(q_geom_derive(&g, (q_shape){5, 5, 3}, (q_shape){0}, &o, &sz, &key, why,
                                   sizeof why), -1);
    assert_string_equal(key, "dilation");
    g = (q_geom){.op = Q_OP_SOFTMAX};
    assert_int_equal(q_geom_derive(&g, (q_shape){2, 3, 10}, (q_shape){0}, &o, &sz, &key, why,
                                   sizeof why), 0);
    assert_true(o.h == 2 && o.w == 3 && o.c == 10 && sz.depth == 10 && sz.weights == 0);
}

static void test_qmodel_rejects_bad_scales(void **state)
{
    q_model *m = *state;
    double bad[] = {NAN, INFINITY, -INFINITY, 0.0, -0.5, 1e-13, 1e13};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        m->layers[4].out_q.scale = bad[k];
        expect_reject(m, "layers[4].output.scale:");
    }
}

static void test_qmodel_rejects_bad_input_quant(void **state)
{
    q_model *m = *state;
    m->in_q.scale = NAN;
    expect_reject(m, "m.yaml: input.scale:");
    m->in_q.scale = 0.1;
    m->in_q.zero_point = 128;
    expect_reject(m, "input.zero_point: 128 is outside [-128, 127]");
}

static void test_qmodel_rejects_bad_weight_scale(void **state)
{
    q_model *m = *state;
    m->layers[0].w_scale[2] = 0.0;
    expect_reject(m, "layers[0].weight_scale[2]:");
    m->layers[0].w_scale[2] = NAN;
    expect_reject(m, "layers[0].weight_scale[2]:");
}

static void test_qmodel_rejects_zero_point_out_of_range(void **state)
{
    q_model *m = *state;
    m->layers[0].out_q.zero_point = 128;
    expect_reject(m, "layers[0].output.zero_point: 128 is outside [-128, 127]");
    m->layers[0].out_q.zero_point = -129;
    expect_reject(m, "layers[0].output.zero_point: -129");
    m->layers[0].out_q.zero_point = 200;
    expect_reject(m, "layers[0].output.zero_point: 200");
}

static void test_qmodel_rejects_weight_minus_128(void **state)
{
    q_model *m = *state;
    m->layers[8].weights[5] = -128;
    expect_reject(m, "layers[8].weights[5]: -128 is outside [-127, 127]");
}

static void test_qmodel_rejects_accumulator_overflow(void **state)
{
    q_model *m = *state;
    /* c1: K = 3*3*3 = 27, bound 27 * 127 * 255 = 874395 */
    int32_t room = INT32_MAX - 874395;
    m->layers[0].bias[1] = room;
    expect_accept(m);
    m->layers[0].bias[1] = -room;
    expect_accept(m);
    m->layers[0].bias[1] = room + 1;
    expect_reject(m, "layers[0].bias[1]: |2146609253| + 874395 (K=27 * 127 * 255) overflows");
    m->layers[0].bias[1] = INT32_MIN;
    expect_reject(m, "layers[0].bias[1]:");
}

static void test_qmodel_rejects_missing_arrays(void **state)
{
    q_model *m = *state;
    int8_t *w = m->layers[1].weights;
    m->layers[1].weights = NULL;
    expect_reject(m, "layers[1].weights: missing");
    m->layers[1].weights = w;
    int32_t *b = m->layers[4].bias;
    m->layers[4].bias = NULL;
    expect_reject(m, "layers[4].bias: missing");
    m->layers[4].bias = b;
    double *s = m->layers[8].w_scale;
    m->layers[8].w_scale = NULL;
    expect_reject(m, "layers[8].weight_scale: missing");
    m->layers[8].w_scale = s;
    expect_accept(m);
}

static void test_qmodel_rejects_bad_layer_names(void **state)
{
    q_model *m = *state;
    const char *bad[] = {"", "1x", "a-b", "a b", "é"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        snprintf(m->layers[3].name, Q_NAME_MAX, "%s", bad[k]);
        expect_reject(m, "layers[3].name:");
    }
    memset(m->layers[3].name, 'a', Q_NAME_MAX); /* no terminator */
    expect_reject(m, "layers[3].name:");
    snprintf(m->layers[3].name, Q_NAME_MAX, "input");
    expect_reject(m, "layers[3].name: 'input' is reserved");
    snprintf(m->layers[3].name, Q_NAME_MAX, "_ok_9");
    expect_accept(m);
}

static void test_qmodel_rejects_duplicate_names(void **state)
{
    q_model *m = *state;
    snprintf(m->layers[6].name, Q_NAME_MAX, "dw");
    expect_reject(m, "layers[6].name: 'dw' is already the name of layers[1]");
}

static void test_qmodel_rejects_bad_model_name(void **state)
{
    q_model *m = *state;
    /* NAME.h must not shadow a header of the C library */
    static const char *const shadows[] = {"stdint", "string", "math", "stddef", "time"};
    for (size_t i = 0; i < sizeof shadows / sizeof shadows[0]; i++) {
        snprintf(m->name, sizeof m->name, "%s", shadows[i]);
        char want[160];
        snprintf(want, sizeof want, "name: '%s' would make %s.h, which shadows the C library's "
                 "<%s.h>", shadows[i], shadows[i], shadows[i]);
        expect_reject(m, want);
    }
    assert_false(q_is_std_header_name("stdint_net"));
    assert_false(q_is_std_header_name("Stdint"));
    snprintf(m->name, sizeof m->name, "every_op");
    snprintf(m->name, sizeof m->name, "my model");
    expect_reject(m, "m.yaml: name: 'my model' is not a C identifier");
    m->name[0] = '\0';
    expect_reject(m, "name:");
}

static void test_qmodel_rejects_absurd_sizes(void **state)
{
    q_model *m = *state;
    m->in_shape.h = 1 << 25;
    expect_reject(m, "input.shape: [33554432, 7, 3] exceeds");
    m->in_shape = (q_shape){4096, 4097, 1};
    expect_reject(m, "input.shape");
    m->in_shape = (q_shape){0, 7, 3};
    expect_reject(m, "input.shape: [0, 7, 3] has a dimension < 1");
    m->in_shape = (q_shape){8, 7, 3};
    m->layers[8].out_shape.c = 1 << 23; /* 4 * 2^23 weights */
    expect_reject(m, "layers[8].weights: 33554432 weights exceed");
    m->layers[8].out_shape.c = 3;
    m->layers[0].out_shape.c = 1 << 20; /* 8*7*2^20 elements */
    expect_reject(m, "layers[0].output.shape:");
}

/* Sizes whose products pass 2^64 must not wrap to small ones (UBSan in the
 * sanitizer build catches any signed overflow on the way). */
static void test_qmodel_rejects_sizes_overflowing_64_bits(void **state)
{
    q_model *m = *state;
    m->in_shape = (q_shape){1 << 22, 1 << 22, 1 << 22}; /* 2^66: wraps to 0 in int64 */
    expect_reject(m, "input.shape: [4194304, 4194304, 4194304] exceeds 16777216 elements");
    m->in_shape = (q_shape){INT32_MAX, INT32_MAX, INT32_MAX};
    expect_reject(m, "exceeds 16777216 elements");
    m->in_shape = (q_shape){8, 7, 3};
    /* depth 2^48 * 3 channels, an output of 2^48 pixels * 4 channels */
    window(&m->layers[0], 1 << 24, 1 << 24, 1, 1, (1 << 24) - 1, (1 << 24) - 1);
    expect_reject(m, "layers[0].kernel: each output sums more than 66311 products");
    window(&m->layers[0], 3, 3, 1, 1, 1, 1);
    /* a dilated kernel 2^49 wide */
    q_geom g = {.op = Q_OP_CONV2D, .out_c = 4};
    g.win = (q_window){.kernel_h = 3, .kernel_w = 3, .dilation_h = 1 << 24, .dilation_w = 1};
    q_shape out;
    const char *key = NULL;
    char why[200];
    assert_int_equal(q_geom_derive(&g, m->in_shape, m->in_shape, &out, NULL, &key, why,
                                   sizeof why), -1);
    assert_string_equal(key, "dilation");
    assert_non_null(strstr(why, "the dilated kernel 33554433x3 exceeds 16777216"));

    assert_int_equal(q_shape_elems((q_shape){1 << 22, 1 << 22, 1 << 22}), -1);
    assert_int_equal(q_shape_elems((q_shape){1 << 12, 1 << 12, 1}), 1 << 24);
    assert_int_equal(q_shape_elems((q_shape){1 << 12, 1 << 12, 2}), -1);
    assert_int_equal(q_shape_elems((q_shape){0, 1, 1}), -1);
    assert_int_equal(q_size_mul(1 << 24, 1), 1 << 24);
    assert_int_equal(q_size_mul(1 << 24, 2), -1);
    assert_int_equal(q_size_mul(-1, 1), -1);
    assert_int_equal(q_size_mul(INT64_MAX, INT64_MAX), -1);
}

static void test_qmodel_rejects_wrong_out_channels(void **state)
{
    q_model *m = *state;
    m->layers[0].out_shape.c = 0;
    expect_reject(m, "layers[0].output.shape: channels 0 must be >= 1");
    m->layers[0].out_shape.c = 4;
    m->layers[1].out_shape.c = 5; /* dwconv keeps 4 channels */
    expect_reject(m, "layers[1].output.shape: [0, 0, 5] does not match the derived [4, 4, 4]");
    m->layers[1].out_shape.c = 0;
    m->layers[0].out_shape.h = 9; /* stored shapes must match the derived ones */
    expect_reject(m, "layers[0].output.shape: [9, 7, 4] does not match");
    m->layers[0].out_shape.h = 0;
    m->layers[8].out_shape.c = 0;
    expect_reject(m, "layers[8].output.shape: channels 0");
}

static void test_qmodel_rejects_unrepresentable_multipliers(void **state)
{
    q_model *m = *state;
    /* conv: s_in * s_w / s_out = 0.04 * 0.01 / 1e-12 = 4e8 < 2^30 passes; 1e-12 with s_w 0.1 fails */
    m->layers[4].out_q.scale = 1e-12;
    expect_accept(m);
    m->layers[4].w_scale[0] = 10.0;
    expect_reject(m, "layers[4].weight_scale[0]: multiplier s_in*s_w/s_out = 4e+11");
    m->layers[4].w_scale[0] = 0.01;
    /* avgpool: 0.04 / (s_out * 2) >= 2^30 */
    m->layers[3].out_q.scale = 1e-11;
    expect_reject(m, "layers[3].output.scale: multiplier s_in/(s_out*kh*kw)");
    m->layers[3].out_q.scale = 0.03;
    /* add: 2 * max(1000, 0.04) / (2^20 * 1e-12) = 1.9e9 >= 2^30 */
    m->layers[4].out_q.scale = 1000;
    m->layers[5].out_q.scale = 1e-12;
    expect_reject(m, "layers[5].output.scale: add multiplier");
}

static void test_qmodel_rejects_activation_on_pool(void **state)
{
    q_model *m = *state;
    m->layers[2].act = Q_ACT_RELU;
    expect_reject(m, "layers[2].act: maxpool cannot fuse an activation");
    m->layers[2].act = Q_ACT_NONE;
    m->layers[7].act = Q_ACT_RELU6;
    expect_reject(m, "layers[7].act: flatten cannot fuse");
}

static void test_qmodel_rejects_unknown_enums(void **state)
{
    q_model *m = *state;
    m->layers[4].op = Q_OP_COUNT;
    expect_reject(m, "layers[4].op: unknown op");
    m->layers[4].op = Q_OP_CONV2D;
    m->layers[4].act = Q_ACT_COUNT;
    expect_reject(m, "layers[4].act: unknown activation");
}

static void test_qmodel_rejects_changed_passthrough_quant(void **state)
{
    q_model *m = *state;
    m->layers[2].out_q = (q_quant){0.05, 5}; /* input has 0.04 */
    expect_reject(m, "layers[2].output: maxpool must keep its input's scale 0.040000000000000001");
    m->layers[2].out_q = (q_quant){0.04, 5};
    expect_accept(m);
}

static void test_qmodel_rejects_no_layers(void **state)
{
    q_model *m = *state;
    int n = m->n_layers;
    m->n_layers = 0;
    expect_reject(m, "layers: 0 layers, expected 1..");
    m->n_layers = n;
}

static void test_qmodel_rejects_avgpool_window_overflow(void **state)
{
    (void)state;
    /* A global pool over 4096 x 4096 values: 2^24 * 255 does not fit int32. */
    q_layer l = {.op = Q_OP_AVGPOOL, .name = "gap", .input2 = -1, .win.kernel_h = 4096,
                 .win.kernel_w = 4096, .win.stride_h = 1, .win.stride_w = 1, .out_q = {1.0, 0}};
    q_model m = {.name = "big", .in_shape = {4096, 4096, 1}, .in_q = {1.0, 0}, .n_layers = 1,
                 .layers = &l};
    expect_reject(&m, "layers[0].kernel: window of 16777216 overflows int32");
}

static void test_qmodel_message_names_file_and_line(void **state)
{
    q_model *m = *state;
    m->layers[6].line = 42;
    m->layers[6].win.stride_h = 0;
    qerr e;
    assert_int_equal(q_model_check(m, "dir/model.frozen.yaml", &e), -1);
    assert_string_equal(e.msg, "dir/model.frozen.yaml:42: layers[6].stride: [0, 1] must be in [1, "
                               "16777216]");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qmodel_names),
        cmocka_unit_test_setup_teardown(test_qmodel_derives_shapes_and_passthrough_quant, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_qmodel_counts, setup, teardown),
        cmocka_unit_test(test_qmodel_act_range),
        cmocka_unit_test_setup_teardown(test_qmodel_free_zeroes, setup, teardown),
        cmocka_unit_test(test_qmodel_accepts_random_models),
        cmocka_unit_test(test_qmodel_random_is_deterministic),
        cmocka_unit_test(test_qmodel_random_models_respond_to_input),
        cmocka_unit_test_setup_teardown(test_qmodel_rejects_forward_reference, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qmodel_rejects_add_forward_reference, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qmodel_rejects_add_shape_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qmodel_rejects_kernel_larger_than_padded_input, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_qmodel_accepts_kernel_equal_to_padded_input, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_qmodel_rejects_bad_stride, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qmodel_rejects_bad_kernel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qmodel_rejects_bad_pad, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qmodel_pool_padding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qmodel_conv_dilation_and_asymmetric_pad, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_qmodel_multiplier, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qmodel_weight_bits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qmodel_accumulator_bound_4bit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qmodel_softmax, setup, teardown),
        cmocka_unit_test(test_qmodel_geom_forms),
        cmocka_unit_test_setup_teardown(test_qmodel_rejects_bad_scales, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qmodel_rejects_bad_input_quant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qmodel_rejects_bad_weight_scale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qmodel_rejects_zero_point_out_of_range, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_qmodel_rejects_weight_minus_128, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qmodel_rejects_accumulator_overflow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qmodel_rejects_missing_arrays, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qmodel_rejects_bad_layer_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qmodel_rejects_duplicate_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qmodel_rejects_bad_model_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qmodel_rejects_absurd_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qmodel_rejects_sizes_overflowing_64_bits, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_qmodel_rejects_wrong_out_channels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qmodel_rejects_unrepresentable_multipliers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_qmodel_rejects_activation_on_pool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qmodel_rejects_unknown_enums, setup, teardown),
        cmocka_unit_test_setup_teardown(test_qmodel_rejects_changed_passthrough_quant, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_qmodel_rejects_no_layers, setup, teardown),
        cmocka_unit_test(test_qmodel_rejects_avgpool_window_overflow),
        cmocka_unit_test_setup_teardown(test_qmodel_message_names_file_and_line, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
