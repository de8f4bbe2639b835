/* config — reading and validating the training config (docs/config.md). */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "yamlx.h"

#define CFG_FMNIST_DIR "/usr/share/datasets/fashion-mnist/"
#define CFG_MAX_DIM 4096          /* input height, width, channels; out features */
#define CFG_MAX_CLASSES 256       /* labels are uint8 */

static const char *const optimizer_names[] = {"sgd", "adam", NULL};
static const char *const schedule_names[] = {"constant", "step", "cosine", NULL};

/* Everything a parsing function needs. */
typedef struct {
    yx_doc *d;
    cfg_config *c;
    qerr *e;
    char dir[CFG_PATH_MAX]; /* the config's folder, "" for the current one */
} cfg_ctx;

/* "prefix.key" into out. */
static const char *cfg_field(char *out, size_t cap, const char *prefix, const char *key)
{
    snprintf(out, cap, "%s.%s", prefix, key);
    return out;
}

static int cfg_fail(cfg_ctx *x, const yaml_node_t *n, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int cfg_fail(cfg_ctx *x, const yaml_node_t *n, const char *field, const char *fmt, ...)
{
    char body[sizeof x->e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    return qerr_at(x->e, x->d->file, n ? yx_line(n) : 0, "%s: %s", field, body);
}

/* Optional int member into an int32. */
static int cfg_i32(cfg_ctx *x, yaml_node_t *map, const char *key, const char *prefix,
                   int64_t lo, int64_t hi, int32_t *out)
{
    char f[256];
    int64_t v = *out;
    if (yx_get_int(x->d, map, key, cfg_field(f, sizeof f, prefix, key), lo, hi, &v, x->e))
        return -1;
    *out = (int32_t)v;
    return 0;
}

/* Optional number member in [lo, hi] (open at lo when lo_open, at hi when hi_open). */
static int cfg_num(cfg_ctx *x, yaml_node_t *map, const char *key, const char *prefix,
                   double lo, int lo_open, double hi, int hi_open, double *out)
{
    char f[256];
    yaml_node_t *n = yx_get(x->d, map, key);
    if (!n)
        return 0;
    double v;
    if (yx_double(x->d, n, cfg_field(f, sizeof f, prefix, key), &v, x->e))
        return -1;
    if ((lo_open ? v <= lo : v < lo) || (hi_open ? v >= hi : v > hi))
        return cfg_fail(x, n, f, "%s is out of range %c%g, %g%c", (const char *)n->data.scalar.value,
                        lo_open ? '(' : '[', lo, hi, hi_open ? ')' : ']');
    *out = v;
    return 0;
}

static int cfg_bool(cfg_ctx *x, yaml_node_t *map, const char *key, const char *prefix, int *out)
{
    char f[256];
    yaml_node_t *n = yx_get(x->d, map, key);
    return n ? yx_bool(x->d, n, cfg_field(f, sizeof f, prefix, key), out, x->e) : 0;
}

static int cfg_enum(cfg_ctx *x, yaml_node_t *map, const char *key, const char *prefix,
                    const char *const *choices, int *out)
{
    char f[256];
    yaml_node_t *n = yx_get(x->d, map, key);
    return n ? yx_enum(x->d, n, cfg_field(f, sizeof f, prefix, key), choices, out, x->e) : 0;
}

/* A required member: the node, or NULL with e set ("FIELD: missing key 'k'"). */
static yaml_node_t *cfg_need(cfg_ctx *x, yaml_node_t *map, const char *key, const char *prefix,
                             const char *hint)
{
    yaml_node_t *n = yx_get(x->d, map, key);
    if (!n)
        qerr_at(x->e, x->d->file, map ? yx_key_line(x->d, map) : 0, "%s: missing key '%s'%s",
                prefix, key, hint ? hint : "");
    return n;
}

/* "l" followed by digits: the names the frozen model gives unnamed layers. */
static int cfg_is_auto_name(const char *s)
{
    if (s[0] != 'l' || !s[1])
        return 0;
    for (const char *p = s + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    return 1;
}

/* ---- model ------------------------------------------------------------- */

static int cfg_input(cfg_ctx *x, yaml_node_t *in)
{
    static const char *const keys[] = {"shape", "scale", "zero_point", NULL};
    if (yx_check_keys(x->d, in, keys, "model.input", x->e))
        return -1;
    yaml_node_t *shape = yx_get(x->d, in, "shape");
    if (shape) {
        if (yx_expect_seq(x->d, shape, "model.input.shape", x->e))
            return -1;
        if (yx_seq_len(shape) != 3)
            return cfg_fail(x, shape, "model.input.shape",
                            "expected [H, W, C] (3 numbers), got %d", yx_seq_len(shape));
        int64_t v[3];
        for (int i = 0; i < 3; i++) {
            char f[64];
            snprintf(f, sizeof f, "model.input.shape[%d]", i);
            if (yx_int(x->d, yx_seq_item(x->d, shape, i), f, 1, CFG_MAX_DIM, &v[i], x->e))
                return -1;
        }
        if (v[0] * v[1] * v[2] > Q_MAX_ELEMS)
            return cfg_fail(x, shape, "model.input.shape", "%lldx%lldx%lld exceeds %d elements",
                            (long long)v[0], (long long)v[1], (long long)v[2], Q_MAX_ELEMS);
        x->c->input_shape = (q_shape){(int32_t)v[0], (int32_t)v[1], (int32_t)v[2]};
    }
    /* the frozen model's bounds (Q_SCALE_MIN), so that no scale is refused
     * only after training */
    if (cfg_num(x, in, "scale", "model.input", Q_SCALE_MIN, 0, 1e6, 0, &x->c->input_q.scale))
        return -1;
    return cfg_i32(x, in, "zero_point", "model.input", -128, 127, &x->c->input_q.zero_point);
}

/* ---- layer keys ------------------------------------------------------------ */

/* `key` of map as an integer or [h, w], each in [lo, hi], into *h and *w (an
 * integer sets both). Absent: unchanged. */
static int cfg_pair(cfg_ctx *x, yaml_node_t *map, const char *key, const char *prefix,
                    int64_t lo, int64_t hi, int32_t *h, int32_t *w)
{
    char f[160], fi[176];
    yaml_node_t *n = yx_get(x->d, map, key);
    if (!n)
        return 0;
    cfg_field(f, sizeof f, prefix, key);
    int64_t v[2];
    if (n->type == YAML_SEQUENCE_NODE) {
        if (yx_seq_len(n) != 2)
            return cfg_fail(x, n, f, "expected an integer or [h, w], got %d values",
                            yx_seq_len(n));
        for (int k = 0; k < 2; k++) {
            snprintf(fi, sizeof fi, "%s[%d]", f, k);
            if (yx_int(x->d, yx_seq_item(x->d, n, k), fi, lo, hi, &v[k], x->e))
                return -1;
        }
    } else if (n->type == YAML_MAPPING_NODE) {
        return cfg_fail(x, n, f, "expected an integer or [h, w], got a mapping");
    } else {
        if (yx_int(x->d, n, f, lo, hi, &v[0], x->e))
            return -1;
        v[1] = v[0];
    }
    *h = (int32_t)v[0];
    *w = (int32_t)v[1];
    return 0;
}

/* `pad` of map into g: an integer (every side), [h, w] (top and bottom h,
 * left and right w), [top, bottom, left, right], `same` or `valid` (rules
 * that q_geom_derive resolves from the input). Absent: no padding. */
static int cfg_pad(cfg_ctx *x, yaml_node_t *map, const char *prefix, q_geom *g)
{
    static const char *const forms = "an integer, [h, w], [top, bottom, left, right], same or valid";
    static const char *const rules[] = {"same", "valid", NULL};
    char f[160], fi[176];
    yaml_node_t *n = yx_get(x->d, map, "pad");
    if (!n)
        return 0;
    cfg_field(f, sizeof f, prefix, "pad");
    q_window *w = &g->win;
    int64_t v[4];
    if (n->type == YAML_SEQUENCE_NODE) {
        int len = yx_seq_len(n);
        if (len != 2 && len != 4)
            return cfg_fail(x, n, f, "expected %s, got %d values", forms, len);
        for (int k = 0; k < len; k++) {
            snprintf(fi, sizeof fi, "%s[%d]", f, k);
            if (yx_int(x->d, yx_seq_item(x->d, n, k), fi, 0, CFG_MAX_DIM, &v[k], x->e))
                return -1;
        }
        if (len == 2) /* [h, w] */
            v[3] = v[2] = v[1], v[1] = v[0];
    } else if (n->type == YAML_MAPPING_NODE) {
        return cfg_fail(x, n, f, "expected %s, got a mapping", forms);
    } else {
        const char *s = (const char *)n->data.scalar.value;
        int word = n->data.scalar.length > 0 && !(s[0] >= '0' && s[0] <= '9') && s[0] != '-' &&
                   s[0] != '+';
        if (word) {
            for (int r = 0; rules[r]; r++)
                if (!strcmp(s, rules[r]) && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
                    g->pad_rule = r == 0 ? Q_PAD_SAME : Q_PAD_VALID;
                    return 0;
                }
            int near = yx_edit_distance(s, "same") <= 2   ? 0
                       : yx_edit_distance(s, "valid") <= 2 ? 1
                                                           : -1;
            if (near >= 0)
                return cfg_fail(x, n, f, "unknown value '%.60s', did you mean '%s'? (%s)", s,
                                rules[near], forms);
            return cfg_fail(x, n, f, "unknown value '%.60s' (%s)", s, forms);
        }
        if (yx_int(x->d, n, f, 0, CFG_MAX_DIM, &v[0], x->e))
            return -1;
        v[1] = v[2] = v[3] = v[0];
    }
    g->pad_rule = Q_PAD_SIDES;
    w->pad_top = (int32_t)v[0];
    w->pad_bottom = (int32_t)v[1];
    w->pad_left = (int32_t)v[2];
    w->pad_right = (int32_t)v[3];
    return 0;
}

/* The tensor that `key` of layer i names (qmodel.h's numbering): `input`, 0,
 * or a named earlier layer j, j + 1. */
static int cfg_tensor_ref(cfg_ctx *x, yaml_node_t *n, const char *field, int i, int *t)
{
    char ref[Q_NAME_MAX * 2];
    if (yx_string(x->d, n, field, ref, sizeof ref, x->e))
        return -1;
    if (!strcmp(ref, "input")) {
        *t = 0;
        return 0;
    }
    for (int j = 0; j < i; j++)
        if (!strcmp(x->c->layers[j].name, ref)) {
            *t = j + 1;
            return 0;
        }
    char names[300] = "";
    size_t used = 0;
    for (int j = 0; j < i && used < sizeof names - 1; j++)
        if (x->c->layers[j].name[0])
            used += (size_t)snprintf(names + used, sizeof names - used, "%s%s",
                                     used ? ", " : "", x->c->layers[j].name);
    return cfg_fail(x, n, field, "no earlier layer is named '%s' (named so far: %s; `input` is "
                                 "the model input)", ref, used ? names : "none");
}

/* The name of tensor t for messages: "input" or the layer's (or "layers[j]"). */
static const char *cfg_tensor_name(const cfg_config *c, int t, char *buf, size_t cap)
{
    if (t == 0)
        return "input";
    if (c->layers[t - 1].name[0])
        return c->layers[t - 1].name;
    snprintf(buf, cap, "layers[%d]", t - 1);
    return buf;
}

/* ---- weight widths (quantization.weight.bits, a layer's weight_bits) ---- */

/* bits: 8 or 4, at node n (field f). */
static int cfg_bits(cfg_ctx *x, yaml_node_t *n, const char *f, int *out)
{
    int64_t b;
    if (yx_int(x->d, n, f, INT32_MIN, INT32_MAX, &b, x->e))
        return -1;
    if (b != 8 && b != 4)
        return cfg_fail(x, n, f, "%lld is not supported (8 or 4)", (long long)b);
    *out = (int)b;
    return 0;
}

/* A weighted layer's own weight_bits (else quantization.weight.bits, filled
 * in by cfg_resolve_weight_bits once that section is read). */
static int cfg_layer_weight_bits(cfg_ctx *x, yaml_node_t *params, const char *prefix,
                                 cfg_layer *l)
{
    char f[160];
    yaml_node_t *n = params ? yx_get(x->d, params, "weight_bits") : NULL;
    l->weight_bits = 0;
    l->weight_bits_fixed = n != NULL;
    return n ? cfg_bits(x, n, cfg_field(f, sizeof f, prefix, "weight_bits"), &l->weight_bits)
             : 0;
}

/* Every weighted layer without weight_bits of its own gets quantization.weight.bits. */
static void cfg_resolve_weight_bits(cfg_config *c)
{
    for (int i = 0; i < c->n_layers; i++) {
        cfg_layer *l = &c->layers[i];
        q_op op = l->geom.op;
        int weighted = op == Q_OP_CONV2D || op == Q_OP_DWCONV2D || op == Q_OP_LINEAR;
        l->weight_bits = !weighted ? 0 : l->weight_bits_fixed ? l->weight_bits : c->weight_bits;
    }
}

/* Parses one `- type: {params}` item into layer i. */
static int cfg_layer_item(cfg_ctx *x, yaml_node_t *item, int i)
{
    cfg_layer *l = &x->c->layers[i];
    char prefix[96], field[160];
    snprintf(prefix, sizeof prefix, "model.layers[%d]", i);
    memset(l, 0, sizeof *l);
    l->line = yx_line(item);
    l->input = i; /* the previous layer's output, unless `from` says otherwise */
    l->input2 = -1;

    if (item->type != YAML_MAPPING_NODE ||
        item->data.mapping.pairs.top - item->data.mapping.pairs.start != 1) {
        char got[32];
        snprintf(got, sizeof got, "%s",
                 item->type == YAML_MAPPING_NODE ? "a mapping with several keys"
                 : item->type == YAML_SEQUENCE_NODE ? "a sequence" : "a scalar");
        return cfg_fail(x, item, prefix,
                        "expected one layer as a one-key mapping such as "
                        "'- conv2d: {out: 16, kernel: 3}', got %s", got);
    }
    yaml_node_pair_t *pair = item->data.mapping.pairs.start;
    yaml_node_t *key = yaml_document_get_node(&x->d->doc, pair->key);
    yaml_node_t *params = yaml_document_get_node(&x->d->doc, pair->value);
    char tname[64];
    if (yx_string(x->d, key, prefix, tname, sizeof tname, x->e))
        return -1;
    int type = -1;
    const char *best = NULL;
    int best_dist = 3; /* suggest at most 2 edits away */
    for (int t = 0; t < Q_OP_COUNT; t++) {
        int dist = yx_edit_distance(tname, q_op_names[t]);
        if (dist == 0)
            type = t;
        if (dist < best_dist) {
            best = q_op_names[t];
            best_dist = dist;
        }
    }
    if (type < 0 && best)
        return cfg_fail(x, key, prefix, "unknown layer type '%s', did you mean '%s'?", tname,
                        best);
    if (type < 0)
        return cfg_fail(x, key, prefix,
                        "unknown layer type '%s' (one of: conv2d, dwconv2d, linear, maxpool, "
                        "avgpool, add, flatten, softmax)", tname);
    q_geom *g = &l->geom;
    g->op = (q_op)type;
    snprintf(prefix, sizeof prefix, "model.layers[%d].%s", i, q_op_names[type]);

    /* `flatten:` with nothing after it is the same as `flatten: {}` */
    if (params->type == YAML_SCALAR_NODE && params->data.scalar.length == 0 &&
        params->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
        params = NULL;

    static const char *const k_conv[] = {"out", "kernel", "stride", "dilation", "pad", "bn",
                                         "act", "name", "from", "weight_bits", NULL};
    static const char *const k_dw[] = {"kernel", "stride", "dilation", "pad", "multiplier",
                                       "bn", "act", "name", "from", "weight_bits", NULL};
    static const char *const k_linear[] = {"out", "bn", "act", "name", "from", "weight_bits",
                                           NULL};
    static const char *const k_maxpool[] = {"kernel", "stride", "pad", "name", "from", NULL};
    static const char *const k_avgpool[] = {"kernel", "stride", "pad", "global", "name", "from",
                                            NULL};
    static const char *const k_add[] = {"with", "act", "name", "from", NULL};
    static const char *const k_flatten[] = {"name", "from", NULL};
    static const char *const k_softmax[] = {"name", "from", NULL};
    static const char *const *const keys_of[Q_OP_COUNT] = {
        [Q_OP_CONV2D] = k_conv,     [Q_OP_DWCONV2D] = k_dw,   [Q_OP_LINEAR] = k_linear,
        [Q_OP_MAXPOOL] = k_maxpool, [Q_OP_AVGPOOL] = k_avgpool, [Q_OP_ADD] = k_add,
        [Q_OP_FLATTEN] = k_flatten, [Q_OP_SOFTMAX] = k_softmax};
    int convlike = g->op == Q_OP_CONV2D || g->op == Q_OP_DWCONV2D;
    int pool = g->op == Q_OP_MAXPOOL || g->op == Q_OP_AVGPOOL;
    yaml_node_t *dn = yx_get(x->d, params, "dilation");
    if (pool && dn)
        return cfg_fail(x, dn, cfg_field(field, sizeof field, prefix, "dilation"),
                        "pools take no dilation (as TFLite's)");
    if (params && yx_check_keys(x->d, params, keys_of[type], prefix, x->e))
        return -1;
    yaml_node_t *fn = yx_get(x->d, params, "from");
    if (fn && cfg_tensor_ref(x, fn, cfg_field(field, sizeof field, prefix, "from"), i,
                             &l->input))
        return -1;

    if (g->op == Q_OP_CONV2D || g->op == Q_OP_LINEAR) {
        if (!cfg_need(x, params, "out", prefix, NULL))
            return params ? -1 : cfg_fail(x, key, prefix, "missing key 'out'");
        if (cfg_i32(x, params, "out", prefix, 1, CFG_MAX_DIM, &g->out_c))
            return -1;
    }
    if (convlike || pool) {
        if (g->op == Q_OP_AVGPOOL && cfg_bool(x, params, "global", prefix, &g->global))
            return -1;
        yaml_node_t *kn = yx_get(x->d, params, "kernel");
        if (g->global && kn)
            return cfg_fail(x, kn, cfg_field(field, sizeof field, prefix, "kernel"),
                            "not allowed with global: true (the kernel is the whole input)");
        static const char *const not_global[] = {"stride", "pad", NULL};
        for (int k = 0; g->global && not_global[k]; k++) {
            yaml_node_t *nk = yx_get(x->d, params, not_global[k]);
            if (nk)
                return cfg_fail(x, nk, cfg_field(field, sizeof field, prefix, not_global[k]),
                                "not allowed with global: true");
        }
        if (!g->global) {
            if (!kn)
                return cfg_fail(x, key, prefix, "missing key 'kernel'%s",
                                g->op == Q_OP_AVGPOOL ? " (or global: true)" : "");
            /* stride 0 and dilation 0: the defaults (q_geom_derive) */
            q_window *w = &g->win;
            if (cfg_pair(x, params, "kernel", prefix, 1, CFG_MAX_DIM, &w->kernel_h,
                         &w->kernel_w) ||
                cfg_pair(x, params, "stride", prefix, 1, CFG_MAX_DIM, &w->stride_h,
                         &w->stride_w) ||
                cfg_pair(x, params, "dilation", prefix, 1, CFG_MAX_DIM, &w->dilation_h,
                         &w->dilation_w) ||
                cfg_pad(x, params, prefix, g))
                return -1;
        }
    }
    if (g->op == Q_OP_DWCONV2D &&
        cfg_i32(x, params, "multiplier", prefix, 1, CFG_MAX_DIM, &g->multiplier))
        return -1;
    if ((convlike || g->op == Q_OP_LINEAR) && cfg_bool(x, params, "bn", prefix, &l->bn))
        return -1;
    if (convlike || g->op == Q_OP_LINEAR || g->op == Q_OP_ADD) {
        int act = Q_ACT_NONE;
        if (cfg_enum(x, params, "act", prefix, q_act_names, &act))
            return -1;
        l->act = (q_act)act;
    }
    if (g->op == Q_OP_ADD) {
        yaml_node_t *wn = cfg_need(x, params, "with", prefix,
                                   " (the name of an earlier layer to add to this one's input)");
        if (!wn)
            return params ? -1 : cfg_fail(x, key, prefix, "missing key 'with'");
        if (cfg_tensor_ref(x, wn, cfg_field(field, sizeof field, prefix, "with"), i,
                           &l->input2))
            return -1;
    }
    if (cfg_layer_weight_bits(x, params, prefix, l))
        return -1;
    yaml_node_t *nn = yx_get(x->d, params, "name");
    if (nn) {
        cfg_field(field, sizeof field, prefix, "name");
        char name[Q_NAME_MAX * 2];
        if (yx_string(x->d, nn, field, name, sizeof name, x->e))
            return -1;
        if (!q_is_identifier(name))
            return cfg_fail(x, nn, field, "'%s' is not a C identifier (letters, digits, _; "
                                          "at most %d characters)", name, Q_NAME_MAX - 1);
        if (!strcmp(name, "input") || cfg_is_auto_name(name))
            return cfg_fail(x, nn, field, "'%s' is reserved (input, l0, l1, ... name the "
                                          "model input and unnamed layers)", name);
        for (int j = 0; j < i; j++)
            if (!strcmp(x->c->layers[j].name, name))
                return cfg_fail(x, nn, field, "'%s' is already the name of layers[%d] (line %d)",
                                name, j, x->c->layers[j].line);
        strcpy(l->name, name);
    }
    return 0;
}

/* The config key that a problem reported by q_geom_derive belongs to. */
static const char *geom_key(const q_geom *g, const char *key)
{
    int outs = g->op == Q_OP_CONV2D || g->op == Q_OP_LINEAR;
    if (!strcmp(key, "output") || !strcmp(key, "weights"))
        return outs ? "out" : g->op == Q_OP_DWCONV2D && g->multiplier > 1 ? "multiplier"
                                                                          : "kernel";
    if (!strcmp(key, "depth"))
        return g->op == Q_OP_LINEAR ? "out" : "kernel";
    return key;
}

/* Derives shapes[i + 1] from layer i's geometry (g, updated: resolved). */
static int cfg_layer_shape(const cfg_config *c, int i, q_geom *g, q_shape *shapes, qerr *e)
{
    const cfg_layer *l = &c->layers[i];
    const char *t = q_op_names[g->op];
    if (l->input < 0 || l->input > i)
        return qerr_at(e, c->config_path, l->line,
                       "model.layers[%d].%s.from: not an earlier layer or the input", i, t);
    if (g->op == Q_OP_ADD && (l->input2 < 0 || l->input2 > i))
        return qerr_at(e, c->config_path, l->line,
                       "model.layers[%d].add.with: not an earlier layer or the input", i);
    q_shape in = shapes[l->input];
    q_shape in2 = g->op == Q_OP_ADD ? shapes[l->input2] : in;
    const char *key;
    char why[256], buf[32];
    if (q_geom_derive(g, in, in2, &shapes[i + 1], NULL, &key, why, sizeof why)) {
        if (g->op == Q_OP_ADD && !strcmp(key, "with")) /* name the tensor it reads */
            return qerr_at(e, c->config_path, l->line, "model.layers[%d].add.with: '%s': %s", i,
                           cfg_tensor_name(c, l->input2, buf, sizeof buf), why);
        return qerr_at(e, c->config_path, l->line, "model.layers[%d].%s.%s: %s", i, t,
                       geom_key(g, key), why);
    }
    return 0;
}

/* Every layer's output but the last's must be read by a later layer: a
 * branch that leads nowhere is a mistake (and would be computed for nothing
 * on the microcontroller). Softmax may only be the last layer. */
static int cfg_check_reads(const cfg_config *c, qerr *e)
{
    for (int i = 0; i + 1 < c->n_layers; i++) {
        if (c->layers[i].geom.op == Q_OP_SOFTMAX)
            return qerr_at(e, c->config_path, c->layers[i].line,
                           "model.layers[%d].softmax: only the last layer may be softmax (the "
                           "model's output; training reads the scores before it)", i);
        int read = 0;
        for (int j = i + 1; j < c->n_layers && !read; j++)
            read = c->layers[j].input == i + 1 ||
                   (c->layers[j].geom.op == Q_OP_ADD && c->layers[j].input2 == i + 1);
        if (!read) {
            char buf[32];
            return qerr_at(e, c->config_path, c->layers[i].line,
                           "model.layers[%d].%s: no later layer reads its output (the next "
                           "layer reads '%s' through `from`); every layer but the last must "
                           "feed another", i, q_op_names[c->layers[i].geom.op],
                           cfg_tensor_name(c, c->layers[i + 1].input, buf, sizeof buf));
        }
    }
    return 0;
}

/* A classifier (cross-entropy) must end in class scores, a softmax may follow
 * them (its output has their shape); an autoencoder (target: input) in the
 * input's shape. A regression (mse against float targets) may end in any
 * shape: the targets are checked against it. Softmax is for cross-entropy. */
static int cfg_check_end(const cfg_config *c, q_shape last, qerr *e)
{
    if (c->n_layers == 0)
        return 0;
    q_shape in = c->input_shape;
    if (c->loss == CFG_LOSS_MSE && c->layers[c->n_layers - 1].geom.op == Q_OP_SOFTMAX)
        return qerr_at(e, c->config_path, c->layers[c->n_layers - 1].line,
                       "model.layers[%d].softmax: softmax needs loss: cross_entropy (with "
                       "loss: mse the model ends in its values, not in probabilities)",
                       c->n_layers - 1);
    if (c->target == CFG_TARGET_INPUT && (last.h != in.h || last.w != in.w || last.c != in.c))
        return qerr_at(e, c->config_path, c->layers[c->n_layers - 1].line,
                       "model.layers[%d].%s: the model ends in %dx%dx%d; with target: input "
                       "it must end in the input's shape %dx%dx%d",
                       c->n_layers - 1, q_op_names[c->layers[c->n_layers - 1].geom.op],
                       (int)last.h, (int)last.w, (int)last.c, (int)in.h, (int)in.w, (int)in.c);
    if (c->loss == CFG_LOSS_CROSS_ENTROPY && (last.h != 1 || last.w != 1 || last.c < 2 ||
                                              last.c > CFG_MAX_CLASSES))
        return qerr_at(e, c->config_path, c->layers[c->n_layers - 1].line,
                       "model.layers[%d].%s: the model ends in %dx%dx%d; it must end in a "
                       "vector of 2 to %d class scores (1x1xK): end with linear, or with "
                       "avgpool {global: true}",
                       c->n_layers - 1, q_op_names[c->layers[c->n_layers - 1].geom.op],
                       (int)last.h, (int)last.w, (int)last.c, CFG_MAX_CLASSES);
    return 0;
}

int cfg_shapes(const cfg_config *c, q_shape *shapes, qerr *e)
{
    shapes[0] = c->input_shape;
    for (int i = 0; i < c->n_layers; i++) {
        q_geom g = c->layers[i].geom;
        if (cfg_layer_shape(c, i, &g, shapes, e))
            return -1;
    }
    if (cfg_check_reads(c, e))
        return -1;
    return cfg_check_end(c, shapes[c->n_layers], e);
}

int32_t cfg_classes(const cfg_config *c)
{
    q_shape shapes[CFG_MAX_LAYERS + 1];
    if (cfg_shapes(c, shapes, NULL))
        return 0;
    return shapes[c->n_layers].c;
}

dataset_labels_kind cfg_labels_kind(const cfg_config *c, int train)
{
    if (c->loss == CFG_LOSS_CROSS_ENTROPY)
        return DATASET_CLASSES;
    if (c->target == CFG_TARGET_LABELS)
        return DATASET_TARGETS;
    return !train && c->metric == METRIC_AUC ? DATASET_CLASSES : DATASET_NONE;
}

static int cfg_layers(cfg_ctx *x, yaml_node_t *seq)
{
    if (yx_expect_seq(x->d, seq, "model.layers", x->e))
        return -1;
    int n = yx_seq_len(seq);
    if (n == 0)
        return cfg_fail(x, seq, "model.layers", "no layers");
    if (n > CFG_MAX_LAYERS)
        return cfg_fail(x, seq, "model.layers", "%d layers, at most %d", n, CFG_MAX_LAYERS);
    for (int i = 0; i < n; i++) {
        if (cfg_layer_item(x, yx_seq_item(x->d, seq, i), i))
            return -1;
        x->c->n_layers = i + 1;
    }
    /* resolve every layer's geometry in place: defaults, padding as four sides */
    q_shape shapes[CFG_MAX_LAYERS + 1];
    shapes[0] = x->c->input_shape;
    for (int i = 0; i < n; i++)
        if (cfg_layer_shape(x->c, i, &x->c->layers[i].geom, shapes, x->e))
            return -1;
    if (cfg_check_reads(x->c, x->e))
        return -1;
    return cfg_check_end(x->c, shapes[n], x->e);
}

static int cfg_model(cfg_ctx *x, yaml_node_t *model)
{
    static const char *const keys[] = {"name", "input", "init", "loss", "target", "layers",
                                       NULL};
    static const char *const init_names[] = {"pytorch", "he", NULL};
    static const char *const loss_names[] = {"cross_entropy", "mse", NULL};
    static const char *const target_names[] = {"labels", "input", NULL};
    if (yx_check_keys(x->d, model, keys, "model", x->e))
        return -1;
    int init = (int)x->c->init, loss = (int)x->c->loss, target = (int)x->c->target;
    if (cfg_enum(x, model, "init", "model", init_names, &init) ||
        cfg_enum(x, model, "loss", "model", loss_names, &loss) ||
        cfg_enum(x, model, "target", "model", target_names, &target))
        return -1;
    x->c->init = (cfg_init)init;
    x->c->loss = (cfg_loss)loss;
    x->c->target = (cfg_target)target;
    if (x->c->target == CFG_TARGET_INPUT && x->c->loss != CFG_LOSS_MSE)
        return cfg_fail(x, yx_get(x->d, model, "target"), "model.target",
                        "input (an autoencoder) needs loss: mse");
    /* the metric follows the loss unless evaluation.accuracy.metric says otherwise */
    x->c->metric = x->c->loss == CFG_LOSS_MSE ? METRIC_MSE : METRIC_TOP1;
    yaml_node_t *nn = yx_get(x->d, model, "name");
    if (nn) {
        char name[Q_NAME_MAX * 2];
        if (yx_string(x->d, nn, "model.name", name, sizeof name, x->e))
            return -1;
        if (!q_is_identifier(name))
            return cfg_fail(x, nn, "model.name", "'%s' is not a C identifier (letters, digits, "
                                                 "_; at most %d characters)", name,
                            Q_NAME_MAX - 1);
        strcpy(x->c->name, name);
    }
    if (q_is_std_header_name(x->c->name))
        return cfg_fail(x, nn ? nn : model, "model.name",
                        "'%s'%s would make %s.h, which shadows the C library's <%s.h>; %s",
                        x->c->name, nn ? "" : " (from the file name)", x->c->name, x->c->name,
                        nn ? "choose another name" : "give model.name");
    yaml_node_t *in = yx_get(x->d, model, "input");
    if (in && cfg_input(x, in))
        return -1;
    yaml_node_t *layers = cfg_need(x, model, "layers", "model", NULL);
    return layers ? cfg_layers(x, layers) : -1;
}

/* ---- data -------------------------------------------------------------- */

/* A path from the config, relative to the config's folder, that must be readable. */
static int cfg_path(cfg_ctx *x, yaml_node_t *map, const char *key, const char *prefix,
                    char *out)
{
    char f[128];
    cfg_field(f, sizeof f, prefix, key);
    yaml_node_t *n = cfg_need(x, map, key, prefix, NULL);
    char raw[CFG_PATH_MAX];
    if (!n || yx_string(x->d, n, f, raw, sizeof raw, x->e))
        return -1;
    if (!raw[0])
        return cfg_fail(x, n, f, "empty path");
    int len;
    size_t dl = strlen(x->dir);
    if (raw[0] == '/' || dl == 0)
        len = snprintf(out, CFG_PATH_MAX, "%s", raw);
    else
        len = snprintf(out, CFG_PATH_MAX, "%s%s%s", x->dir, x->dir[dl - 1] == '/' ? "" : "/",
                       raw);
    if (len >= CFG_PATH_MAX)
        return cfg_fail(x, n, f, "path too long");
    if (access(out, R_OK) != 0)
        return cfg_fail(x, n, f, "cannot read '%s': %s", out, strerror(errno));
    return 0;
}

/* The inputs of a set: `inputs`, or `images` (the same key under its IDX name). */
static int cfg_inputs(cfg_ctx *x, yaml_node_t *map, const char *prefix, char *out)
{
    char f[128];
    yaml_node_t *in = yx_get(x->d, map, "inputs"), *im = yx_get(x->d, map, "images");
    if (in && im)
        return cfg_fail(x, im, cfg_field(f, sizeof f, prefix, "images"),
                        "give inputs or images (two names of one key), not both");
    if (!in && !im)
        return qerr_at(x->e, x->d->file, yx_line(map), "%s: missing key 'inputs' (or images)",
                       prefix);
    return cfg_path(x, map, in ? "inputs" : "images", prefix, out);
}

/* The labels of a set, required or refused as cfg_labels_kind says. */
static int cfg_labels(cfg_ctx *x, yaml_node_t *map, const char *prefix, int train, char *out)
{
    char f[128];
    dataset_labels_kind kind = cfg_labels_kind(x->c, train);
    yaml_node_t *n = yx_get(x->d, map, "labels");
    if (kind == DATASET_NONE) {
        out[0] = '\0';
        if (n)
            return cfg_fail(x, n, cfg_field(f, sizeof f, prefix, "labels"),
                            train ? "not used with target: input (the target is the input)"
                                  : "not used with target: input and metric mse (the target "
                                    "is the input; labels are for metric: auc)");
        return 0;
    }
    if (!n)
        return qerr_at(x->e, x->d->file, yx_line(map), "%s: missing key 'labels'%s", prefix,
                       kind == DATASET_TARGETS ? " (float targets, a .npy of f4, for loss: mse)"
                       : x->c->metric == METRIC_AUC ? " (1 = anomaly, 0 = normal, for metric: auc)"
                                                    : " (class numbers)");
    return cfg_path(x, map, "labels", prefix, out);
}

/* One data set: {inputs (or images), labels}. */
static int cfg_set(cfg_ctx *x, yaml_node_t *map, const char *prefix, int train, char *inputs,
                   char *labels)
{
    static const char *const keys[] = {"inputs", "images", "labels", NULL};
    return yx_expect_map(x->d, map, prefix, x->e) || yx_check_keys(x->d, map, keys, prefix, x->e) ||
                   cfg_inputs(x, map, prefix, inputs) || cfg_labels(x, map, prefix, train, labels)
               ? -1
               : 0;
}

static int cfg_read_validation(cfg_ctx *x, yaml_node_t *v)
{
    static const char *const keys[] = {"fraction", "inputs", "images", "labels", NULL};
    cfg_config *c = x->c;
    if (yx_expect_map(x->d, v, "data.validation", x->e) ||
        yx_check_keys(x->d, v, keys, "data.validation", x->e))
        return -1;
    yaml_node_t *fr = yx_get(x->d, v, "fraction");
    c->validation_line = yx_line(v);
    if (!fr) {
        c->validation = CFG_VALIDATION_FILES;
        return cfg_set(x, v, "data.validation", 0, c->val_images, c->val_labels);
    }
    for (int i = 1; keys[i]; i++)
        if (yx_get(x->d, v, keys[i]))
            return cfg_fail(x, yx_get(x->d, v, keys[i]), "data.validation",
                            "give fraction or files (inputs, labels), not both");
    if (c->metric == METRIC_AUC)
        return cfg_fail(x, fr, "data.validation.fraction",
                        "metric auc needs anomaly labels, and the training set of an "
                        "autoencoder has none: give validation files {inputs: F, labels: F}");
    c->validation = CFG_VALIDATION_FRACTION;
    c->validation_line = yx_line(fr);
    return cfg_num(x, v, "fraction", "data.validation", 0, 1, 1, 1, &c->validation_fraction);
}

static int cfg_augment(cfg_ctx *x, yaml_node_t *a)
{
    static const char *const keys[] = {"shift", "flip", NULL};
    cfg_config *c = x->c;
    if (yx_expect_map(x->d, a, "data.augment", x->e) ||
        yx_check_keys(x->d, a, keys, "data.augment", x->e) ||
        cfg_i32(x, a, "shift", "data.augment", 0, CFG_MAX_DIM, &c->augment.shift) ||
        cfg_bool(x, a, "flip", "data.augment", &c->augment.flip))
        return -1;
    q_shape in = c->input_shape;
    yaml_node_t *sn = yx_get(x->d, a, "shift");
    if (c->augment.shift > 0 && in.h == 1 && in.w == 1)
        return cfg_fail(x, sn, "data.augment.shift",
                        "the input is 1x1x%d: nothing to shift", (int)in.c);
    if ((in.h > 1 && c->augment.shift >= in.h) || (in.w > 1 && c->augment.shift >= in.w))
        return cfg_fail(x, sn, "data.augment.shift",
                        "%d is not below the input's %dx%d (a shift must leave some of it)",
                        (int)c->augment.shift, (int)in.h, (int)in.w);
    if (c->augment.flip && in.w == 1)
        return cfg_fail(x, yx_get(x->d, a, "flip"), "data.augment.flip",
                        "the input is %dx1: a horizontal flip changes nothing", (int)in.h);
    return 0;
}

static int cfg_data(cfg_ctx *x, yaml_node_t *data)
{
    static const char *const keys[] = {"train", "validation", "eval", "augment", NULL};
    cfg_config *c = x->c;
    if (yx_check_keys(x->d, data, keys, "data", x->e))
        return -1;
    yaml_node_t *train = cfg_need(x, data, "train", "data", " (inputs and labels to train on)");
    if (!train || cfg_set(x, train, "data.train", 1, c->train_images, c->train_labels))
        return -1;
    yaml_node_t *ev = cfg_need(x, data, "eval", "data", " (inputs and labels to evaluate on)");
    if (!ev || cfg_set(x, ev, "data.eval", 0, c->eval_images, c->eval_labels))
        return -1;
    yaml_node_t *n;
    if ((n = yx_get(x->d, data, "validation")) && cfg_read_validation(x, n))
        return -1;
    if ((n = yx_get(x->d, data, "augment")) && cfg_augment(x, n))
        return -1;
    return 0;
}

/* ---- training phases ----------------------------------------------------- */

static int cfg_read_optimizer(cfg_ctx *x, yaml_node_t *opt, const char *prefix, cfg_optimizer *o)
{
    static const char *const keys[] = {"type", "lr", "momentum", "nesterov", "weight_decay",
                                       "beta1", "beta2", "eps", NULL};
    if (yx_check_keys(x->d, opt, keys, prefix, x->e))
        return -1;
    int type = (int)o->type;
    if (cfg_enum(x, opt, "type", prefix, optimizer_names, &type))
        return -1;
    o->type = (cfg_optimizer_type)type;
    char f[160];
    static const char *const sgd_only[] = {"momentum", "nesterov", NULL};
    static const char *const adam_only[] = {"beta1", "beta2", "eps", NULL};
    const char *const *foreign = o->type == CFG_SGD ? adam_only : sgd_only;
    for (int i = 0; foreign[i]; i++) {
        yaml_node_t *n = yx_get(x->d, opt, foreign[i]);
        if (n)
            return cfg_fail(x, n, cfg_field(f, sizeof f, prefix, foreign[i]),
                            "only for type: %s", o->type == CFG_SGD ? "adam" : "sgd");
    }
    if (cfg_num(x, opt, "lr", prefix, 0, 1, 10, 0, &o->lr) ||
        cfg_num(x, opt, "weight_decay", prefix, 0, 0, 1, 1, &o->weight_decay) ||
        cfg_num(x, opt, "momentum", prefix, 0, 0, 1, 1, &o->momentum) ||
        cfg_bool(x, opt, "nesterov", prefix, &o->nesterov) ||
        cfg_num(x, opt, "beta1", prefix, 0, 0, 1, 1, &o->beta1) ||
        cfg_num(x, opt, "beta2", prefix, 0, 0, 1, 1, &o->beta2) ||
        cfg_num(x, opt, "eps", prefix, 0, 1, 1, 0, &o->eps))
        return -1;
    if (o->type == CFG_SGD && o->nesterov && o->momentum <= 0)
        return cfg_fail(x, yx_get(x->d, opt, "nesterov"),
                        cfg_field(f, sizeof f, prefix, "nesterov"), "needs momentum > 0");
    return 0;
}

/* The keys shared by pretrain and quantization.train. */
static int cfg_phase_keys(cfg_ctx *x, yaml_node_t *map, const char *prefix, cfg_phase *p)
{
    char f[160];
    if (cfg_i32(x, map, "epochs", prefix, 0, 10000, &p->epochs) ||
        cfg_i32(x, map, "iterations", prefix, 0, 1000000000, &p->iterations) ||
        cfg_i32(x, map, "batch", prefix, 1, 65536, &p->batch))
        return -1;
    if (p->batch < 2) /* the trainer skips a batch of one image: it would train nothing */
        return cfg_fail(x, yx_get(x->d, map, "batch"), cfg_field(f, sizeof f, prefix, "batch"),
                        "%d: a batch needs at least 2 images (batch norm normalizes over the "
                        "batch)", (int)p->batch);
    yaml_node_t *opt = yx_get(x->d, map, "optimizer");
    if (opt && cfg_read_optimizer(x, opt, cfg_field(f, sizeof f, prefix, "optimizer"),
                             &p->optimizer))
        return -1;
    int sched = (int)p->lr_schedule;
    if (cfg_enum(x, map, "lr_schedule", prefix, schedule_names, &sched))
        return -1;
    p->lr_schedule = (cfg_lr_schedule)sched;
    yaml_node_t *se = yx_get(x->d, map, "lr_step_epochs");
    yaml_node_t *sg = yx_get(x->d, map, "lr_step_gamma");
    if (p->lr_schedule != CFG_LR_STEP && (se || sg))
        return cfg_fail(x, se ? se : sg,
                        cfg_field(f, sizeof f, prefix, se ? "lr_step_epochs" : "lr_step_gamma"),
                        "only for lr_schedule: step");
    if (p->lr_schedule == CFG_LR_STEP &&
        !cfg_need(x, map, "lr_step_epochs", prefix,
                  " (lr_schedule: step multiplies the lr by lr_step_gamma every "
                  "lr_step_epochs epochs)"))
        return -1;
    if (cfg_i32(x, map, "lr_step_epochs", prefix, 1, 10000, &p->step_epochs) ||
        cfg_num(x, map, "lr_step_gamma", prefix, 0, 1, 1, 0, &p->step_gamma))
        return -1;
    return 0;
}

static int cfg_pretrain(cfg_ctx *x, yaml_node_t *pre)
{
    static const char *const keys[] = {"epochs", "iterations", "batch", "optimizer",
                                       "lr_schedule", "lr_step_epochs", "lr_step_gamma", NULL};
    if (yx_check_keys(x->d, pre, keys, "pretrain", x->e))
        return -1;
    if (!cfg_need(x, pre, "epochs", "pretrain", " (0 skips float pretraining)"))
        return -1;
    return cfg_phase_keys(x, pre, "pretrain", &x->c->pretrain);
}

static int cfg_quantization(cfg_ctx *x, yaml_node_t *qz)
{
    static const char *const keys[] = {"approach", "weight", "activation", "train",
                                       "calibration_batches", NULL};
    static const char *const approaches[] = {"quant_aware_training",
                                             "post_training_static_quant", NULL};
    static const char *const wkeys[] = {"bits", "granularity", "fake_quant", NULL};
    static const char *const akeys[] = {"bits", "observer", "averaging_constant",
                                        "fake_quant", NULL};
    static const char *const tkeys[] = {"epochs", "iterations", "batch", "optimizer",
                                        "lr_schedule", "lr_step_epochs", "lr_step_gamma",
                                        "freeze_bn_after", "disable_observer_after", NULL};
    static const char *const granularities[] = {"per_channel", "per_tensor", NULL};
    static const char *const observers[] = {"moving_average_minmax", NULL};
    cfg_config *c = x->c;
    if (yx_check_keys(x->d, qz, keys, "quantization", x->e))
        return -1;
    int approach = 0;
    if (cfg_enum(x, qz, "approach", "quantization", approaches, &approach))
        return -1;
    if (cfg_i32(x, qz, "calibration_batches", "quantization", 1, 1000000000,
                &c->calibration_batches))
        return -1;

    yaml_node_t *w = yx_get(x->d, qz, "weight");
    if (w) {
        if (yx_check_keys(x->d, w, wkeys, "quantization.weight", x->e))
            return -1;
        yaml_node_t *bits = yx_get(x->d, w, "bits");
        if (bits && cfg_bits(x, bits, "quantization.weight.bits", &c->weight_bits))
            return -1;
        int g = c->weight_per_channel ? 0 : 1;
        if (cfg_enum(x, w, "granularity", "quantization.weight", granularities, &g))
            return -1;
        c->weight_per_channel = g == 0;
        if (cfg_bool(x, w, "fake_quant", "quantization.weight", &c->fake_quant_weights))
            return -1;
    }
    yaml_node_t *a = yx_get(x->d, qz, "activation");
    if (a) {
        if (yx_check_keys(x->d, a, akeys, "quantization.activation", x->e))
            return -1;
        yaml_node_t *bits = yx_get(x->d, a, "bits");
        int64_t b = 8;
        if (bits && yx_int(x->d, bits, "quantization.activation.bits", 2, 16, &b, x->e))
            return -1;
        if (b != 8)
            return cfg_fail(x, bits, "quantization.activation.bits",
                            "%lld is not supported (only 8)", (long long)b);
        c->act_bits = 8;
        int obs = 0;
        if (cfg_enum(x, a, "observer", "quantization.activation", observers, &obs) ||
            cfg_num(x, a, "averaging_constant", "quantization.activation", 0, 1, 1, 0,
                    &c->averaging_constant) ||
            cfg_bool(x, a, "fake_quant", "quantization.activation", &c->fake_quant_acts))
            return -1;
    }

    yaml_node_t *t = yx_get(x->d, qz, "train");
    int freeze_given = 0, disable_given = 0;
    if (t) {
        if (yx_check_keys(x->d, t, tkeys, "quantization.train", x->e) ||
            cfg_phase_keys(x, t, "quantization.train", &c->qat) ||
            cfg_i32(x, t, "freeze_bn_after", "quantization.train", 0, 10000,
                    &c->freeze_bn_after) ||
            cfg_i32(x, t, "disable_observer_after", "quantization.train", 0, 10000,
                    &c->disable_observer_after))
            return -1;
        freeze_given = yx_get(x->d, t, "freeze_bn_after") != NULL;
        disable_given = yx_get(x->d, t, "disable_observer_after") != NULL;
        yaml_node_t *ep = yx_get(x->d, t, "epochs");
        if (approach == 1 && ep && c->qat.epochs != 0)
            return cfg_fail(x, ep, "quantization.train.epochs",
                            "must be 0 with approach: post_training_static_quant");
    }
    if (approach == 1)
        c->qat.epochs = 0;
    /* The seed's schedule scaled to the epoch count: 4 and 5 for 8 epochs. */
    if (!freeze_given)
        c->freeze_bn_after = c->qat.epochs / 2;
    if (!disable_given)
        c->disable_observer_after = (5 * c->qat.epochs + 7) / 8;
    return 0;
}

/* ---- evaluation and tuning ---------------------------------------------- */

static int cfg_evaluation(cfg_ctx *x, yaml_node_t *ev)
{
    static const char *const keys[] = {"accuracy", NULL};
    static const char *const akeys[] = {"metric", NULL};
    cfg_config *c = x->c;
    if (yx_check_keys(x->d, ev, keys, "evaluation", x->e))
        return -1;
    yaml_node_t *acc = yx_get(x->d, ev, "accuracy");
    int metric = (int)c->metric;
    if (acc && (yx_check_keys(x->d, acc, akeys, "evaluation.accuracy", x->e) ||
                cfg_enum(x, acc, "metric", "evaluation.accuracy", metric_names, &metric)))
        return -1;
    c->metric = (metric_kind)metric;
    yaml_node_t *mn = acc ? yx_get(x->d, acc, "metric") : NULL;
    if (c->metric == METRIC_TOP1 && c->loss != CFG_LOSS_CROSS_ENTROPY)
        return cfg_fail(x, mn, "evaluation.accuracy.metric",
                        "top1 needs loss: cross_entropy (class scores); with loss: mse use mse "
                        "or auc");
    if (c->metric != METRIC_TOP1 && c->loss != CFG_LOSS_MSE)
        return cfg_fail(x, mn, "evaluation.accuracy.metric",
                        "%s needs loss: mse; a classifier (cross_entropy) is judged by top1",
                        metric_names[c->metric]);
    if (c->metric == METRIC_AUC && c->target != CFG_TARGET_INPUT)
        return cfg_fail(x, mn, "evaluation.accuracy.metric",
                        "auc needs target: input (its score is an autoencoder's reconstruction "
                        "error)");
    return 0;
}

static int cfg_tuning(cfg_ctx *x, yaml_node_t *tu)
{
    static const char *const keys[] = {"strategy", "accuracy_criterion", "exit_policy",
                                       "random_seed", NULL};
    static const char *const strategies[] = {"basic", "mixed_precision", NULL};
    static const char *const ckeys[] = {"relative", "absolute", NULL};
    static const char *const ekeys[] = {"timeout", NULL};
    cfg_config *c = x->c;
    if (yx_check_keys(x->d, tu, keys, "tuning", x->e))
        return -1;
    int strategy = (int)c->strategy;
    if (cfg_enum(x, tu, "strategy", "tuning", strategies, &strategy))
        return -1;
    c->strategy = (cfg_strategy)strategy;
    if (c->strategy == CFG_STRATEGY_MIXED && c->qat.epochs == 0)
        return cfg_fail(x, yx_get(x->d, tu, "strategy"), "tuning.strategy",
                        "mixed_precision trains each candidate with QAT; it needs "
                        "quantization.train.epochs > 0");
    yaml_node_t *crit = yx_get(x->d, tu, "accuracy_criterion");
    if (crit) {
        if (yx_check_keys(x->d, crit, ckeys, "tuning.accuracy_criterion", x->e))
            return -1;
        yaml_node_t *rel = yx_get(x->d, crit, "relative");
        yaml_node_t *abso = yx_get(x->d, crit, "absolute");
        if (rel && abso)
            return cfg_fail(x, abso, "tuning.accuracy_criterion",
                            "give relative or absolute, not both");
        if (!rel && !abso)
            return cfg_fail(x, crit, "tuning.accuracy_criterion",
                            "expected relative: FRACTION or absolute: FRACTION");
        c->criterion_relative = rel != NULL;
        /* top1 and auc are fractions; an mse may grow by any factor or amount */
        int mse = c->metric == METRIC_MSE;
        if (cfg_num(x, crit, rel ? "relative" : "absolute", "tuning.accuracy_criterion", 0, 0,
                    mse ? 1e9 : 1, rel != NULL && !mse, &c->criterion))
            return -1;
    }
    yaml_node_t *ex = yx_get(x->d, tu, "exit_policy");
    if (ex && (yx_check_keys(x->d, ex, ekeys, "tuning.exit_policy", x->e) ||
               cfg_num(x, ex, "timeout", "tuning.exit_policy", 0, 0, 1e9, 0, &c->timeout_s)))
        return -1;
    int64_t seed = (int64_t)c->seed;
    if (yx_get_int(x->d, tu, "random_seed", "tuning.random_seed", 0, INT64_MAX, &seed, x->e))
        return -1;
    c->seed = (uint64_t)seed;
    return 0;
}

/* ---- the whole file ----------------------------------------------------- */

/* A batch of the largest tensor must fit int32 elements: the trainer's
 * kernels count the elements of a batch in int. */
static int cfg_batch_fits(cfg_ctx *x, yaml_node_t *root)
{
    q_shape shapes[CFG_MAX_LAYERS + 1];
    if (cfg_shapes(x->c, shapes, x->e))
        return -1;
    int64_t most = 0;
    for (int i = 0; i <= x->c->n_layers; i++) {
        int64_t n = (int64_t)shapes[i].h * shapes[i].w * shapes[i].c; /* <= Q_MAX_ELEMS */
        most = n > most ? n : most;
    }
    const cfg_phase *phase[2] = {&x->c->pretrain, &x->c->qat};
    yaml_node_t *map[2] = {yx_get(x->d, root, "pretrain"),
                           yx_get(x->d, yx_get(x->d, root, "quantization"), "train")};
    static const char *const field[2] = {"pretrain.batch", "quantization.train.batch"};
    for (int p = 0; p < 2; p++)
        if ((int64_t)phase[p]->batch * most > INT32_MAX)
            return cfg_fail(x, yx_get(x->d, map[p], "batch"), field[p],
                            "%d images of the largest tensor (%lld values each) exceed %d "
                            "values; use a batch of at most %lld",
                            (int)phase[p]->batch, (long long)most, INT32_MAX,
                            (long long)(INT32_MAX / most));
    return 0;
}

static void cfg_phase_defaults(cfg_phase *p, int32_t epochs, double lr, double weight_decay)
{
    memset(p, 0, sizeof *p);
    p->epochs = epochs;
    p->iterations = 0;
    p->batch = 64;
    p->optimizer = (cfg_optimizer){.type = CFG_SGD, .lr = lr, .momentum = 0.9,
                                   .weight_decay = weight_decay, .nesterov = 0,
                                   .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    p->lr_schedule = CFG_LR_COSINE;
    p->step_epochs = 1;
    p->step_gamma = 0.1;
}

void cfg_defaults(cfg_config *c)
{
    memset(c, 0, sizeof *c);
    strcpy(c->name, "model");
    c->input_shape = (q_shape){28, 28, 1};
    c->input_q = (q_quant){1.0 / 255.0, -128};
    c->init = CFG_INIT_PYTORCH;
    c->loss = CFG_LOSS_CROSS_ENTROPY;
    c->target = CFG_TARGET_LABELS;
    c->metric = METRIC_TOP1;
    c->validation = CFG_VALIDATION_NONE;
    c->augment = (aug_config){0, 0};
    strcpy(c->train_images, CFG_FMNIST_DIR "train-images-idx3-ubyte.gz");
    strcpy(c->train_labels, CFG_FMNIST_DIR "train-labels-idx1-ubyte.gz");
    strcpy(c->eval_images, CFG_FMNIST_DIR "t10k-images-idx3-ubyte.gz");
    strcpy(c->eval_labels, CFG_FMNIST_DIR "t10k-labels-idx1-ubyte.gz");
    cfg_phase_defaults(&c->pretrain, 0, 0.05, 0.0005);
    c->weight_bits = 8;
    c->weight_per_channel = 1;
    c->act_bits = 8;
    c->averaging_constant = 0.01;
    c->fake_quant_weights = 1;
    c->fake_quant_acts = 1;
    cfg_phase_defaults(&c->qat, 8, 0.005, 0.0);
    c->calibration_batches = 100;
    c->freeze_bn_after = 4;
    c->disable_observer_after = 5;
    c->strategy = CFG_STRATEGY_BASIC;
    c->criterion_relative = 1;
    c->criterion = 0.01;
    c->timeout_s = 0;
    c->seed = 9527;
}

/* The default model name: the file's name up to its first '.', when that is
 * a C identifier ("fmnist_cnn.yaml" -> "fmnist_cnn"). */
static void cfg_default_name(const char *path, char *name)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char stem[Q_NAME_MAX];
    size_t len = strcspn(base, ".");
    if (len == 0 || len >= sizeof stem)
        return;
    memcpy(stem, base, len);
    stem[len] = '\0';
    if (q_is_identifier(stem))
        strcpy(name, stem);
}

int cfg_read(const char *path, cfg_config *c, qerr *e)
{
    static const char *const keys[] = {"model", "data", "pretrain", "quantization",
                                       "evaluation", "tuning", NULL};
    cfg_defaults(c);
    if (strlen(path) >= sizeof c->config_path)
        return qerr_set(e, "%.100s...: path too long", path);
    strcpy(c->config_path, path);
    cfg_default_name(path, c->name);

    yx_doc d;
    const yx_limits lim = {CFG_MAX_BYTES, CFG_MAX_NODES, YX_MAX_DEPTH};
    if (yx_load_limited(&d, path, &lim, e))
        return -1;
    cfg_ctx x = {.d = &d, .c = c, .e = e};
    const char *slash = strrchr(path, '/');
    if (slash)
        snprintf(x.dir, sizeof x.dir, "%.*s", (int)(slash - path), path);
    if (slash == path)
        strcpy(x.dir, "/");

    int rc = -1;
    yaml_node_t *root = yx_root(&d);
    if (!root) {
        qerr_at(e, path, 0, "empty config (expected a mapping with model, data, pretrain, "
                            "quantization, evaluation, tuning)");
        goto out;
    }
    if (yx_check_keys(&d, root, keys, "", e))
        goto out;
    yaml_node_t *model = cfg_need(&x, root, "model", "config", NULL);
    if (!model || yx_expect_map(&d, model, "model", e) || cfg_model(&x, model))
        goto out;
    yaml_node_t *n;
    /* the metric before the data: it says which sets need labels */
    if ((n = yx_get(&d, root, "evaluation")) && cfg_evaluation(&x, n))
        goto out;
    if ((n = yx_get(&d, root, "data")) && cfg_data(&x, n))
        goto out;
    if (!n && cfg_labels_kind(c, 1) == DATASET_NONE)
        c->train_labels[0] = '\0';
    if (!n && cfg_labels_kind(c, 0) == DATASET_NONE)
        c->eval_labels[0] = '\0';
    if ((n = yx_get(&d, root, "pretrain")) && cfg_pretrain(&x, n))
        goto out;
    if ((n = yx_get(&d, root, "quantization")) && cfg_quantization(&x, n))
        goto out;
    if (!n) {
        c->freeze_bn_after = c->qat.epochs / 2;
        c->disable_observer_after = (5 * c->qat.epochs + 7) / 8;
    }
    cfg_resolve_weight_bits(c);
    if ((n = yx_get(&d, root, "tuning")) && cfg_tuning(&x, n))
        goto out;
    if (cfg_batch_fits(&x, root))
        goto out;
    rc = 0;
out:
    yx_free(&d);
    return rc;
}
