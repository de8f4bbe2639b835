/* cfgcanon — a config's settings as canonical text, for --resume (cfgcanon.h). */
#include "cfgcanon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "qnum.h"
#include "yamlx.h"

#define CFGCANON_DEPTH_MAX 32
#define CFGCANON_PATH_MAX 1024
#define SEED_FIELD "seed (--seed, else tuning.random_seed)"

/* Settings left out of the text (cfgcanon.h): they may change on resume. */
static const char *const left_out[] = {"tuning.exit_policy", "tuning.accuracy_criterion",
                                       "tuning.random_seed"};

typedef struct {
    yx_doc *d;
    char *text;          /* (cap) */
    size_t len, cap;
    int *line;           /* (cap_lines) */
    int n, cap_lines;
    int seed_line;       /* the line of tuning.random_seed, 0 when absent */
    int failed;          /* 1: out of memory, 2: nested too deep */
} builder;

static void put(builder *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *t = realloc(b->text, cap);
        if (!t) {
            b->failed = 1;
            return;
        }
        b->text = t;
        b->cap = cap;
    }
    memcpy(b->text + b->len, s, n);
    b->len += n;
    b->text[b->len] = '\0';
}

/* A scalar's value: a number as %.17g of it, anything else escaped. */
static void put_value(builder *b, const char *s, size_t n)
{
    char buf[64];
    if (n > 0 && n < sizeof buf) {
        memcpy(buf, s, n);
        buf[n] = '\0';
        double v;
        if (qnum_double(buf, &v) == QNUM_OK) { /* the shortest %g that reads back as v */
            int k = 0;
            for (int digits = 1; digits <= 17; digits++) {
                k = snprintf(buf, sizeof buf, "%.*g", digits, v);
                if (strtod(buf, NULL) == v)
                    break;
            }
            put(b, buf, (size_t)k);
            return;
        }
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f || ch == '\\')
            put(b, buf, (size_t)snprintf(buf, sizeof buf, ch == '\\' ? "\\\\" : "\\x%02x", ch));
        else
            put(b, s + i, 1);
    }
}

/* Starts the line of one entry: "PATH: ", remembering its config line. */
static void begin_entry(builder *b, const char *path, int line)
{
    if (b->failed)
        return;
    if (b->n == b->cap_lines) {
        int cap = b->cap_lines ? 2 * b->cap_lines : 64;
        int *l = realloc(b->line, (size_t)cap * sizeof *l);
        if (!l) {
            b->failed = 1;
            return;
        }
        b->line = l;
        b->cap_lines = cap;
    }
    b->line[b->n++] = line;
    put(b, path, strlen(path));
    put(b, ": ", 2);
}

typedef struct {
    const char *key;
    size_t key_len;
    yaml_node_t *value;
} pair;

static int pair_cmp(const void *pa, const void *pb)
{
    const pair *a = pa, *b = pb;
    int c = memcmp(a->key, b->key, a->key_len < b->key_len ? a->key_len : b->key_len);
    return c ? c : (a->key_len > b->key_len) - (a->key_len < b->key_len);
}

/* Appends the entries of node n, whose path is path (plen bytes, in a buffer
 * of CFGCANON_PATH_MAX). */
static void walk(builder *b, yaml_node_t *n, char *path, size_t plen, int depth)
{
    if (b->failed)
        return;
    if (depth > CFGCANON_DEPTH_MAX) {
        b->failed = 2;
        return;
    }
    yaml_document_t *doc = &b->d->doc;
    if (n->type == YAML_SCALAR_NODE) {
        begin_entry(b, path, yx_line(n));
        put_value(b, (const char *)n->data.scalar.value, n->data.scalar.length);
        put(b, "\n", 1);
    } else if (n->type == YAML_SEQUENCE_NODE) {
        yaml_node_item_t *items = n->data.sequence.items.start;
        int count = (int)(n->data.sequence.items.top - items);
        if (count == 0) {
            begin_entry(b, path, yx_line(n));
            put(b, "[]\n", 3);
        }
        for (int i = 0; i < count; i++) {
            int k = snprintf(path + plen, CFGCANON_PATH_MAX - plen, "[%d]", i);
            if (k < 0 || plen + (size_t)k >= CFGCANON_PATH_MAX) {
                b->failed = 2;
                return;
            }
            walk(b, yaml_document_get_node(doc, items[i]), path, plen + (size_t)k, depth + 1);
        }
    } else if (n->type == YAML_MAPPING_NODE) {
        yaml_node_pair_t *pairs = n->data.mapping.pairs.start;
        size_t count = (size_t)(n->data.mapping.pairs.top - pairs);
        if (count == 0) {
            begin_entry(b, path, yx_line(n));
            put(b, "{}\n", 3);
            return;
        }
        pair *sorted = malloc(count * sizeof *sorted);
        if (!sorted) {
            b->failed = 1;
            return;
        }
        for (size_t i = 0; i < count; i++) {
            yaml_node_t *key = yaml_document_get_node(doc, pairs[i].key);
            int scalar = key->type == YAML_SCALAR_NODE;
            sorted[i].key = scalar ? (const char *)key->data.scalar.value : "?";
            sorted[i].key_len = scalar ? key->data.scalar.length : 1;
            sorted[i].value = yaml_document_get_node(doc, pairs[i].value);
        }
        qsort(sorted, count, sizeof *sorted, pair_cmp);
        for (size_t i = 0; i < count; i++) {
            int k = snprintf(path + plen, CFGCANON_PATH_MAX - plen, "%s%.*s", plen ? "." : "",
                             (int)sorted[i].key_len, sorted[i].key);
            if (k < 0 || plen + (size_t)k >= CFGCANON_PATH_MAX) {
                b->failed = 2;
                break;
            }
            int skip = 0;
            for (size_t j = 0; j < sizeof left_out / sizeof left_out[0]; j++)
                skip |= strcmp(path, left_out[j]) == 0;
            if (strcmp(path, "tuning.random_seed") == 0)
                b->seed_line = yx_line(sorted[i].value);
            if (!skip)
                walk(b, sorted[i].value, path, plen + (size_t)k, depth + 1);
        }
        free(sorted);
    }
}

int cfgcanon_build(cfgcanon *c, const char *config_path, uint64_t seed, qerr *e)
{
    memset(c, 0, sizeof *c);
    yx_doc d;
    const yx_limits lim = {CFG_MAX_BYTES, CFG_MAX_NODES, YX_MAX_DEPTH};
    if (yx_load_limited(&d, config_path, &lim, e))
        return -1;
    builder b = {.d = &d};
    char seed_text[32];
    begin_entry(&b, SEED_FIELD, 0);
    put(&b, seed_text, (size_t)snprintf(seed_text, sizeof seed_text, "%llu\n",
                                        (unsigned long long)seed));
    yaml_node_t *root = yx_root(&d);
    char path[CFGCANON_PATH_MAX] = "";
    if (root)
        walk(&b, root, path, 0, 0);
    yx_free(&d);
    if (b.failed) {
        free(b.text);
        free(b.line);
        return b.failed == 1 ? qerr_set(e, "%s: out of memory", config_path)
                             : qerr_set(e, "%s: nested deeper than %d levels", config_path,
                                        CFGCANON_DEPTH_MAX);
    }
    b.line[0] = b.seed_line;
    c->text = b.text;
    c->len = b.len;
    c->n = b.n;
    c->line = b.line;
    return 0;
}

void cfgcanon_free(cfgcanon *c)
{
    free(c->text);
    free(c->line);
    memset(c, 0, sizeof *c);
}

/* One line of a canonical text: [s, s + len), its field the first flen bytes. */
typedef struct {
    const char *s;
    size_t len, flen;
} entry;

/* Line i of text (len bytes); its len is 0 past the end. */
static entry entry_at(const char *text, size_t len, int i)
{
    const char *p = text, *end = text + len;
    for (; i > 0 && p < end; i--) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : end;
    }
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    entry en = {p, (size_t)((nl ? nl : end) - p), 0};
    const char *colon = memchr(en.s, ':', en.len);
    en.flen = colon ? (size_t)(colon - en.s) : en.len;
    return en;
}

/* The index of the line of text whose field is f, or -1. */
static int find_field(const char *text, size_t len, entry f)
{
    for (int i = 0;; i++) {
        entry en = entry_at(text, len, i);
        if (en.len == 0)
            return -1;
        if (en.flen == f.flen && memcmp(en.s, f.s, f.flen) == 0)
            return i;
    }
}

#define VALUE(en) (int)((en).len > (en).flen + 2 ? (en).len - (en).flen - 2 : 0), \
                  (en).s + (en).flen + 2
#define FIELD(en) (int)(en).flen, (en).s

int cfgcanon_check(const cfgcanon *c, const char *old, size_t old_len, const char *config_path,
                   const char *ckpt_path, qerr *e)
{
    if (old_len == c->len && memcmp(old, c->text, old_len) == 0)
        return 0;
    int i = 0;
    entry was, now;
    for (;; i++) {
        was = entry_at(old, old_len, i);
        now = entry_at(c->text, c->len, i);
        if (was.len != now.len || memcmp(was.s, now.s, was.len) != 0)
            break;
    }
    static const char *const advice =
        "--resume needs the settings the checkpoint was trained with (or train without "
        "--resume)";
    int same_field = was.len && now.len && was.flen == now.flen &&
                     memcmp(was.s, now.s, was.flen) == 0;
    if (was.len && (!now.len || (!same_field && find_field(c->text, c->len, was) < 0)))
        return qerr_at(e, config_path, 0, "%.*s: absent, but %s was trained with %.*s; %s",
                       FIELD(was), ckpt_path, VALUE(was), advice); /* removed */
    int line = i < c->n ? c->line[i] : 0;
    if (!same_field) /* added */
        return qerr_at(e, config_path, line, "%.*s: %.*s, absent when %s was trained; %s",
                       FIELD(now), VALUE(now), ckpt_path, advice);
    return qerr_at(e, config_path, line, "%.*s: %.*s, but %s was trained with %.*s; %s",
                   FIELD(now), VALUE(now), ckpt_path, VALUE(was), advice);
}
