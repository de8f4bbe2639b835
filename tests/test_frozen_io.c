/* Tests for frozen_io: the documented example reads and re-writes to the same
 * bytes, 200 random models round-trip bit-exactly (doubles included) and
 * re-write byte-identically, malformed files are each rejected naming file,
 * line and field, and failed writes leave no file behind. */
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

/* The example of docs/frozen-format.md, byte for byte what frozen_write prints.
 * Layers start on lines 7 (conv2d c1), 21 (add res), 27 (maxpool mp),
 * 33 (dwconv2d dw), 46 (avgpool gap), 52 (flatten fl), 56 (linear fc). */
static const char BASE[] =
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
    "    output: {shape: [1, 1, 2], scale: 0.0625, zero_point: -128}\n"
    "  - op: flatten\n"
    "    name: fl\n"
    "    input: gap\n"
    "    output: {shape: [1, 1, 2], scale: 0.0625, zero_point: -128}\n"
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

typedef struct {
    char dir[256];
    char path[320];
    char path2[320];
    qerr e;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f || tmpdir_make("test_frozen_io", f->dir, sizeof f->dir) != 0) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/t.yaml", f->dir);
    snprintf(f->path2, sizeof f->path2, "%s/u.yaml", f->dir);
    *state = f;
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
            x->input2 != y->input2 || x->act != y->act || x->win.kernel_h != y->win.kernel_h ||
            x->win.kernel_w != y->win.kernel_w || x->win.stride_h != y->win.stride_h ||
            x->win.stride_w != y->win.stride_w || x->win.pad_top != y->win.pad_top || x->win.pad_left != y->win.pad_left ||
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
    static const int lines[7] = {7, 21, 27, 33, 46, 52, 56};
    static const int inputs[7] = {0, 1, 2, 3, 4, 5, 6};
    for (int i = 0; i < 7; i++) {
        assert_int_equal(m.layers[i].op, ops[i]);
        assert_int_equal(m.layers[i].line, lines[i]);
        assert_int_equal(m.layers[i].input, inputs[i]);
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

    /* written back: the same bytes */
    assert_int_equal(frozen_write(f->path2, &m, &f->e), 0);
    char *text = tmpdir_read(f->path2, NULL);
    assert_non_null(text);
    assert_string_equal(text, BASE);
    free(text);
    q_model_free(&m);
}

/* ---- random models ------------------------------------------------------ */

static void test_frozen_io_round_trips_random_models(void **state)
{
    fixture *f = *state;
    rng_state r;
    rng_seed(&r, 4242);
    for (int n = 0; n < 200; n++) {
        random_model_opts o;
        random_model_default_opts(&o);
        o.every_op = n % 2;
        o.end_linear = n % 5 != 0;
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
    {"missing key", "    stride: [1, 1]\n    pad: [1, 1]\n", "    pad: [1, 1]\n",
     "t.yaml:7: layers[0].stride: missing"},
    {"missing top key", "name: tiny\n", "", "t.yaml:1: name: missing"},
    {"unknown key", "    pad: [1, 1]\n", "    pda: [1, 1]\n",
     "t.yaml:12: layers[0].pda: unknown key, did you mean 'pad'?"},
    {"unknown top key", "layers:\n", "layer:\n", "t.yaml:6: layer: unknown key, did you mean 'layers'?"},
    {"key not for this op", "    stride: [2, 2]\n", "    stride: [2, 2]\n    act: relu\n",
     "t.yaml:32: layers[2].act: unknown key (valid keys: op, name, input, kernel, stride, output)"},
    {"duplicate key", "    input: input\n", "    input: input\n    name: again\n",
     "t.yaml:10: layers[0].name: duplicate key (first on line 8)"},
    {"wrong type: scalar for list", "kernel: [3, 3]", "kernel: 3",
     "t.yaml:10: layers[0].kernel: expected a sequence"},
    {"wrong type: text for number", "scale: 0.25", "scale: abc",
     "t.yaml:14: layers[0].output.scale: expected a number"},
    {"wrong type: quoted integer", "zero_point: -3}", "zero_point: \"-3\"}",
     "t.yaml:14: layers[0].output.zero_point: expected an integer, got the quoted string"},
    {"wrong type: map for list", "bias: [1, 2, 3]", "bias: {a: 1}",
     "t.yaml:63: layers[6].bias: expected a sequence, got a mapping"},
    {"wrong type: bool", "per_channel: true", "per_channel: yes",
     "t.yaml:15: layers[0].per_channel: expected true or false"},
    {"unknown op", "op: maxpool", "op: maxpoll",
     "t.yaml:27: layers[2].op: unknown value 'maxpoll', did you mean 'maxpool'?"},
    {"unknown act", "act: relu6", "act: relu8", "t.yaml:39: layers[3].act: unknown value 'relu8'"},
    {"wrong count: bias", "bias: [100, -100]", "bias: [100]",
     "t.yaml:17: layers[0].bias: expected 2 values (one per output channel), found 1"},
    {"wrong count: weight_scale", "[0.01, 0.02]", "[0.01]",
     "t.yaml:16: layers[0].weight_scale: expected 2 scales (one per output channel), found 1"},
    {"wrong count: weight rows", "      - [0, 0]\n", "",
     "t.yaml:65: layers[6].weights: expected 3 rows of 2 values, found 2 rows"},
    {"wrong count: row length", "      - [-127, 127]", "      - [-127]",
     "t.yaml:67: layers[6].weights[2]: expected 2 values, found 1"},
    {"wrong count: shape", "[4, 4, 2]", "[4, 4]", "t.yaml:5: input.shape: expected 3 integers"},
    {"wrong count: kernel", "kernel: [2, 2]", "kernel: [2, 2, 2]",
     "t.yaml:30: layers[2].kernel: expected 2 integers, found 3"},
    {"NaN scale", "scale: 0.125", "scale: nan",
     "t.yaml:60: layers[6].output.scale: expected a finite number"},
    {"YAML NaN scale", "scale: 0.125", "scale: .nan",
     "t.yaml:60: layers[6].output.scale: expected a finite number"},
    {"hex float scale", "scale: 0.125", "scale: 0x1p-3",
     "t.yaml:60: layers[6].output.scale: expected a number, got '0x1p-3'"},
    {"tagged string as scale", "scale: 0.125", "scale: !!str 0.125",
     "t.yaml:60: layers[6].output.scale: expected a number, got '0.125' tagged !!str"},
    {"infinite weight scale", "[0.003]", "[1e999]",
     "t.yaml:62: layers[6].weight_scale[0]: expected a finite number"},
    {"zero scale", "scale: 0.5", "scale: 0", "t.yaml:5: input.scale: 0 is not a finite scale"},
    {"zero-point 200", "zero_point: 5}", "zero_point: 200}",
     "t.yaml:60: layers[6].output.zero_point: 200 is out of range [-128, 127]"},
    {"weight -128", "[1, 2, 3,", "[1, 2, -128,",
     "t.yaml:19: layers[0].weights[0][2]: -128 is out of range [-127, 127]"},
    {"weight 128", "[127, -64]", "[128, -64]",
     "t.yaml:45: layers[3].weights[0][0]: 128 is out of range [-127, 127]"},
    {"bias beyond int32", "bias: [1, 2, 3]", "bias: [1, 2, 2147483648]",
     "t.yaml:63: layers[6].bias[2]: 2147483648 is out of range"},
    {"accumulator overflow", "bias: [100, -100]", "bias: [2147483647, -100]",
     "t.yaml:7: layers[0].bias[0]: |2147483647| + 582930 (K=18 * 127 * 255) overflows"},
    {"version 2", "qatc_frozen: 1", "qatc_frozen: 2",
     "t.yaml:1: qatc_frozen: version 2 is not supported"},
    {"forward reference", "input: gap", "input: fc",
     "t.yaml:54: layers[5].input: 'fc' is layers[6], not an earlier layer"},
    {"unknown reference", "with: input", "with: nothere",
     "t.yaml:24: layers[1].with: no tensor named 'nothere'"},
    {"duplicate layer name", "name: fl", "name: mp",
     "t.yaml:53: layers[5].name: 'mp' is already the name of layers[2]"},
    {"model name not an identifier", "name: tiny", "name: tiny-model",
     "t.yaml:4: name: 'tiny-model' is not a C identifier"},
    {"layer name not an identifier", "name: dw", "name: 2dw",
     "t.yaml:34: layers[3].name: '2dw' is not a C identifier"},
    {"stored shape differs", "shape: [4, 4, 2], scale: 0.25", "shape: [4, 3, 2], scale: 0.25",
     "t.yaml:7: layers[0].output.shape: [4, 3, 2] does not match the derived [4, 4, 2]"},
    {"kernel larger than input", "kernel: [2, 2]", "kernel: [5, 2]",
     "t.yaml:27: layers[2].kernel: 5x2 is larger than the input 4x4"},
    {"pad not below kernel", "pad: [0, 0]", "pad: [1, 0]",
     "t.yaml:33: layers[3].pad: [1, 1, 0, 0] must each be >= 0 and less than the kernel 1x1"},
    {"zero stride", "stride: [2, 2]", "stride: [0, 2]",
     "t.yaml:31: layers[2].stride[0]: 0 is out of range [1, 16777216]"},
    {"maxpool changes quantization", "shape: [2, 2, 2], scale: 1, zero_point: 0",
     "shape: [2, 2, 2], scale: 1, zero_point: 1", "t.yaml:27: layers[2].output: maxpool must keep"},
    {"root is a list", BASE, "- a\n- b\n", "t.yaml:1: qatc_frozen: expected a mapping"},
    {"a config, not a frozen model", BASE, "model:\n  name: x\n",
     "t.yaml:1: qatc_frozen: missing: this is not a qatc frozen model"},
    {"empty file", BASE, "", "t.yaml:1: qatc_frozen: missing: the file is empty"},
    {"only a comment", BASE, "# nothing\n", "t.yaml:1: qatc_frozen: missing: the file is empty"},
    {"output not the last layer", "output: fc", "output: fl",
     "t.yaml:68: output: 'fl' is not the last layer 'fc'"},
    {"two documents", "      - [-127, 127]\n", "      - [-127, 127]\n---\nfoo: 1\n",
     "t.yaml:69: more than one YAML document"},
    {"unterminated row", "-11, -12, -13, -14, -15, -16, -17, -18]", "-11, -12",
     "t.yaml:21: YAML syntax error"},
    {"cut after a whole layer", "output: fc\n", "",
     "t.yaml:1: output: missing (the name of the last layer; is the file truncated?)"},
};

/* BASE with the first occurrence of old replaced by new (old == BASE: all of it). */
static char *mutate(const char *old, const char *new)
{
    const char *at = old == BASE ? BASE : strstr(BASE, old);
    if (!at)
        fail_msg("'%s' is not in BASE", old);
    size_t pre = (size_t)(at - BASE), lo = strlen(old), ln = strlen(new);
    char *out = malloc(strlen(BASE) - lo + ln + 1);
    assert_non_null(out);
    memcpy(out, BASE, pre);
    memcpy(out + pre, new, ln);
    strcpy(out + pre + ln, at + lo);
    return out;
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
}

static void test_frozen_io_rejects_empty_layers(void **state)
{
    fixture *f = *state;
    const char *text = "qatc_frozen: 1\nname: x\ninput: {shape: [1, 1, 1], scale: 1, "
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
        cmocka_unit_test_setup_teardown(test_frozen_io_reads_example, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frozen_io_round_trips_random_models, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_frozen_io_doubles_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frozen_io_quotes_yaml_words, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frozen_io_rejects_malformed_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frozen_io_rejects_empty_layers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frozen_io_rejects_binary_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frozen_io_rejects_truncated_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frozen_io_rejects_missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frozen_io_write_refuses_invalid_model, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_frozen_io_write_to_missing_dir_fails, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_frozen_io_write_error_leaves_nothing, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
