/* yamlx — libyaml's document API with errors "FILE:LINE: FIELD: problem". */
#include "yamlx.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "infile.h"
#include "qnum.h"

/* Longest string yx_edit_distance compares exactly (keys are short). */
#define YX_EDIT_MAX 255

/* Formats "FILE:LINE: FIELD: msg" (or "FILE:LINE: msg" when field is empty)
 * into e. Returns -1. */
static int yx_fail(const yx_doc *d, const yaml_node_t *n, const char *field, qerr *e,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int yx_fail(const yx_doc *d, const yaml_node_t *n, const char *field, qerr *e,
                   const char *fmt, ...)
{
    char body[sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    int line = n ? yx_line(n) : 0;
    if (field && field[0])
        return qerr_at(e, d->file, line, "%s: %s", field, body);
    return qerr_at(e, d->file, line, "%s", body);
}

/* ---- loading: libyaml's events composed into its document -------------------- */

/* The file, read through libyaml's input handler with a byte count. */
typedef struct {
    int fd;
    int64_t bytes, max;
    int err;            /* errno of a failed read */
    int too_big;        /* more than max bytes */
} yx_source;

static int yx_read(void *data, unsigned char *buf, size_t size, size_t *got)
{
    yx_source *src = data;
    ssize_t r;
    do
        r = read(src->fd, buf, size);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        src->err = errno;
        return 0;
    }
    src->bytes += r;
    if (src->bytes > src->max) {
        src->too_big = 1;
        return 0;
    }
    *got = (size_t)r;
    return 1;
}

/* One collection being built. */
typedef struct {
    int node;           /* its node id */
    int64_t start;      /* the node count before it */
    int key;            /* mapping: the key waiting for its value, 0 if none */
} yx_frame;

/* The state of one yx_load. */
typedef struct {
    yx_doc *d;
    const yx_limits *lim;
    qerr *e;
    yx_frame stack[YX_MAX_DEPTH];
    int depth;
    int64_t count;      /* nodes so far, aliases expanded */
    int64_t *weight;    /* (cap) nodes in the subtree of each node id, aliases expanded */
    size_t cap;
    struct {
        char *name;
        int node;
    } anchor[YX_MAX_ANCHORS];
    int n_anchors;
} yx_composer;

static int yx_fail_at(yx_composer *c, const yaml_event_t *ev, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int yx_fail_at(yx_composer *c, const yaml_event_t *ev, const char *fmt, ...)
{
    char body[sizeof c->e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    return qerr_at(c->e, c->d->file, (int)ev->start_mark.line + 1, "%s", body);
}

/* Counts weight more nodes; refuses past the limit. */
static int yx_count(yx_composer *c, const yaml_event_t *ev, int64_t weight)
{
    c->count += weight;
    if (c->count > c->lim->max_nodes)
        return yx_fail_at(c, ev, "more than %lld YAML nodes (values and collections, "
                                 "aliases counted as what they stand for)",
                          (long long)c->lim->max_nodes);
    return 0;
}

/* Records the subtree weight of node id. */
static int yx_set_weight(yx_composer *c, int id, int64_t w)
{
    if ((size_t)id >= c->cap) {
        size_t cap = c->cap ? c->cap : 1024;
        while ((size_t)id >= cap)
            cap *= 2;
        int64_t *nw = realloc(c->weight, cap * sizeof *nw);
        if (!nw)
            return -1;
        c->weight = nw;
        c->cap = cap;
    }
    c->weight[id] = w;
    return 0;
}

/* Sets the line of node id (libyaml's document API leaves it 0) and
 * whether the file tagged it. Returns 0 or -1 (out of memory). */
static int yx_mark(yx_composer *c, int id, const yaml_event_t *ev, const yaml_char_t *tag)
{
    yaml_node_t *n = yaml_document_get_node(&c->d->doc, id);
    n->start_mark = ev->start_mark;
    n->end_mark = ev->end_mark;
    yx_doc *d = c->d;
    if ((size_t)id >= d->tagged_cap) {
        size_t cap = d->tagged_cap ? d->tagged_cap : 1024;
        while ((size_t)id >= cap)
            cap *= 2;
        unsigned char *t = realloc(d->tagged, cap);
        if (!t)
            return -1;
        memset(t + d->tagged_cap, 0, cap - d->tagged_cap);
        d->tagged = t;
        d->tagged_cap = cap;
    }
    d->tagged[id] = tag != NULL;
    return 0;
}

/* Adds node id (complete) to the collection being built, or makes it the root. */
static int yx_attach(yx_composer *c, int id)
{
    if (c->depth == 0)
        return 0; /* the root: libyaml's first node */
    yx_frame *f = &c->stack[c->depth - 1];
    yaml_node_t *parent = yaml_document_get_node(&c->d->doc, f->node);
    if (parent->type == YAML_SEQUENCE_NODE)
        return yaml_document_append_sequence_item(&c->d->doc, f->node, id) ? 0 : -1;
    if (!f->key) {
        f->key = id;
        return 0;
    }
    int key = f->key;
    f->key = 0;
    return yaml_document_append_mapping_pair(&c->d->doc, f->node, key, id) ? 0 : -1;
}

/* Remembers anchor name (may be NULL) for node id. */
static int yx_anchor(yx_composer *c, const yaml_event_t *ev, const yaml_char_t *name, int id)
{
    if (!name)
        return 0;
    for (int i = 0; i < c->n_anchors; i++)
        if (!strcmp(c->anchor[i].name, (const char *)name)) {
            c->anchor[i].node = id; /* redefined: later aliases mean the new one */
            return 0;
        }
    if (c->n_anchors == YX_MAX_ANCHORS)
        return yx_fail_at(c, ev, "more than %d YAML anchors", YX_MAX_ANCHORS);
    char *copy = strdup((const char *)name);
    if (!copy)
        return qerr_set(c->e, "%s: out of memory", c->d->file);
    c->anchor[c->n_anchors].name = copy;
    c->anchor[c->n_anchors++].node = id;
    return 0;
}

/* The node of an alias: anchored before and complete (an alias inside its
 * own anchor would make the document a cycle). 0 after setting e. */
static int yx_alias(yx_composer *c, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    for (int i = c->n_anchors - 1; i >= 0; i--) {
        if (strcmp(c->anchor[i].name, name) != 0)
            continue;
        for (int k = 0; k < c->depth; k++)
            if (c->stack[k].node == c->anchor[i].node) {
                yx_fail_at(c, ev, "alias *%.60s inside its own anchor (a cycle)", name);
                return 0;
            }
        return c->anchor[i].node;
    }
    yx_fail_at(c, ev, "alias *%.60s has no anchor &%.60s before it", name, name);
    return 0;
}

/* Handles one node event (scalar, alias, start or end of a collection).
 * Returns 0 or -1 with e set. */
static int yx_compose(yx_composer *c, const yaml_event_t *ev)
{
    yaml_document_t *doc = &c->d->doc;
    int id;
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        if (yx_count(c, ev, 1))
            return -1;
        id = yaml_document_add_scalar(doc, ev->data.scalar.tag, ev->data.scalar.value,
                                      (int)ev->data.scalar.length, ev->data.scalar.style);
        if (!id || yx_set_weight(c, id, 1) || yx_mark(c, id, ev, ev->data.scalar.tag))
            break;
        if (yx_anchor(c, ev, ev->data.scalar.anchor, id))
            return -1;
        return yx_attach(c, id) ? qerr_set(c->e, "%s: out of memory", c->d->file) : 0;
    case YAML_ALIAS_EVENT:
        id = yx_alias(c, ev);
        if (!id || yx_count(c, ev, c->weight[id]))
            return -1;
        return yx_attach(c, id) ? qerr_set(c->e, "%s: out of memory", c->d->file) : 0;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        if (c->depth >= c->lim->max_depth)
            return yx_fail_at(c, ev, "nested deeper than %d levels", c->lim->max_depth);
        if (yx_count(c, ev, 1))
            return -1;
        if (ev->type == YAML_SEQUENCE_START_EVENT)
            id = yaml_document_add_sequence(doc, ev->data.sequence_start.tag,
                                            ev->data.sequence_start.style);
        else
            id = yaml_document_add_mapping(doc, ev->data.mapping_start.tag,
                                           ev->data.mapping_start.style);
        if (!id || yx_mark(c, id, ev,
                           ev->type == YAML_SEQUENCE_START_EVENT ? ev->data.sequence_start.tag
                                                                 : ev->data.mapping_start.tag))
            break;
        if (yx_anchor(c, ev,
                      ev->type == YAML_SEQUENCE_START_EVENT ? ev->data.sequence_start.anchor
                                                            : ev->data.mapping_start.anchor,
                      id))
            return -1;
        c->stack[c->depth++] = (yx_frame){id, c->count - 1, 0};
        return 0;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: {
        yx_frame f = c->stack[--c->depth];
        yaml_document_get_node(doc, f.node)->end_mark = ev->end_mark;
        if (yx_set_weight(c, f.node, c->count - f.start) || yx_attach(c, f.node))
            break;
        return 0;
    }
    default:
        return 0;
    }
    return qerr_set(c->e, "%s: out of memory", c->d->file);
}

/* libyaml's error as "FILE:LINE: YAML syntax error: ..." into e. */
static int yx_parser_error(const yaml_parser_t *p, const yx_source *src, const char *path,
                           const yx_limits *lim, qerr *e)
{
    int line = (int)p->problem_mark.line + 1;
    const char *problem = p->problem ? p->problem : "unknown error";
    if (src->too_big)
        return qerr_set(e, "%s: more than %lld bytes, the limit for this kind of file", path,
                        (long long)lim->max_bytes);
    if (src->err)
        return qerr_set(e, "%s: cannot read: %s", path, strerror(src->err));
    if (p->error == YAML_READER_ERROR)
        return qerr_at(e, path, 0, "YAML read error at byte %zu: %s", p->problem_offset,
                       problem);
    if (p->error == YAML_MEMORY_ERROR)
        return qerr_set(e, "%s: out of memory", path);
    if (p->context)
        return qerr_at(e, path, line, "YAML syntax error: %s %s", problem, p->context);
    return qerr_at(e, path, line, "YAML syntax error: %s", problem);
}

int yx_load_limited(yx_doc *d, const char *path, const yx_limits *lim, qerr *e)
{
    memset(d, 0, sizeof *d);
    if (strlen(path) >= sizeof d->file)
        return qerr_set(e, "%.100s...: path too long", path);
    strcpy(d->file, path);
    yx_limits l = *lim; /* never beyond the compiled-in bounds (the stack's size) */
    if (l.max_depth > YX_MAX_DEPTH || l.max_depth < 1)
        l.max_depth = YX_MAX_DEPTH;

    int64_t size;
    int fd = infile_open_regular(path, &size, e);
    if (fd < 0)
        return -1;
    if (size > l.max_bytes) {
        close(fd);
        return qerr_set(e, "%s: %lld bytes, more than %lld, the limit for this kind of file",
                        path, (long long)size, (long long)l.max_bytes);
    }
    yx_source src = {.fd = fd, .max = l.max_bytes};
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        close(fd);
        return qerr_set(e, "%s: out of memory", path);
    }
    yaml_parser_set_input(&parser, yx_read, &src);
    if (!yaml_document_initialize(&d->doc, NULL, NULL, NULL, 1, 1)) {
        yaml_parser_delete(&parser);
        close(fd);
        return qerr_set(e, "%s: out of memory", path);
    }
    d->loaded = 1;

    yx_composer c = {.d = d, .lim = &l, .e = e};
    int rc = 0, documents = 0, second = 0;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            rc = yx_parser_error(&parser, &src, path, &l, e);
            break;
        }
        if (ev.type == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (ev.type == YAML_DOCUMENT_START_EVENT && documents++ > 0)
            second = 1; /* named at its first node, below */
        else if (second && ev.type != YAML_DOCUMENT_END_EVENT)
            rc = yx_fail_at(&c, &ev, "more than one YAML document");
        else
            rc = yx_compose(&c, &ev);
        yaml_event_delete(&ev);
        if (rc)
            break;
    }
    yaml_parser_delete(&parser);
    close(fd);
    for (int i = 0; i < c.n_anchors; i++)
        free(c.anchor[i].name);
    free(c.weight);
    if (rc)
        yx_free(d);
    return rc;
}

int yx_load(yx_doc *d, const char *path, qerr *e)
{
    const yx_limits lim = {YX_MAX_BYTES, YX_MAX_NODES, YX_MAX_DEPTH};
    return yx_load_limited(d, path, &lim, e);
}

void yx_free(yx_doc *d)
{
    if (d->loaded)
        yaml_document_delete(&d->doc);
    d->loaded = 0;
    free(d->tagged);
    d->tagged = NULL;
    d->tagged_cap = 0;
}

#define YX_STD_TAG "tag:yaml.org,2002:"

/* The tag the file gave n, or NULL when it gave none. */
static const char *yx_tag(const yx_doc *d, const yaml_node_t *n)
{
    size_t id = (size_t)(n - d->doc.nodes.start) + 1; /* libyaml numbers nodes from 1 */
    if (!n->tag || id >= d->tagged_cap || !d->tagged[id])
        return NULL;
    return (const char *)n->tag;
}

/* Whether n is untagged or tagged with one of the standard types in allowed
 * ("int", "float", ...; NULL-terminated). */
static int yx_tag_ok(const yx_doc *d, const yaml_node_t *n, const char *const *allowed)
{
    const char *t = yx_tag(d, n);
    if (!t)
        return 1;
    if (strncmp(t, YX_STD_TAG, sizeof YX_STD_TAG - 1) != 0)
        return 0;
    for (int i = 0; allowed[i]; i++)
        if (!strcmp(t + sizeof YX_STD_TAG - 1, allowed[i]))
            return 1;
    return 0;
}

/* The tag of n as a message shows it: "!!int" for a standard one, else as
 * written (cut to fit). */
static const char *yx_tag_text(const yx_doc *d, const yaml_node_t *n, char *out, size_t cap)
{
    const char *t = yx_tag(d, n);
    if (t && strncmp(t, YX_STD_TAG, sizeof YX_STD_TAG - 1) == 0)
        snprintf(out, cap, "!!%.40s", t + sizeof YX_STD_TAG - 1);
    else
        snprintf(out, cap, "%.40s", t ? t : "");
    return out;
}

yaml_node_t *yx_root(yx_doc *d)
{
    return d->loaded ? yaml_document_get_root_node(&d->doc) : NULL;
}

int yx_line(const yaml_node_t *n)
{
    return (int)n->start_mark.line + 1;
}

/* "a mapping", "a sequence" or "'text'" for messages about what was found. */
static void yx_describe(const yaml_node_t *n, char *out, size_t cap)
{
    if (!n)
        snprintf(out, cap, "nothing");
    else if (n->type == YAML_MAPPING_NODE)
        snprintf(out, cap, "a mapping");
    else if (n->type == YAML_SEQUENCE_NODE)
        snprintf(out, cap, "a sequence");
    else if (n->type == YAML_SCALAR_NODE && n->data.scalar.length == 0 &&
             n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
        snprintf(out, cap, "nothing");
    else
        snprintf(out, cap, "'%.60s%s'", (const char *)n->data.scalar.value,
                 n->data.scalar.length > 60 ? "..." : "");
}

static int yx_expect(yx_doc *d, yaml_node_t *n, yaml_node_type_t type, const char *what,
                     const char *field, qerr *e)
{
    static const char *const map_tags[] = {"map", NULL}, *const seq_tags[] = {"seq", NULL};
    if (n && n->type == type && !yx_tag_ok(d, n, type == YAML_MAPPING_NODE ? map_tags : seq_tags)) {
        char tag[48];
        return yx_fail(d, n, field, e, "expected %s, got one tagged %s", what,
                       yx_tag_text(d, n, tag, sizeof tag));
    }
    if (n && n->type == type)
        return 0;
    char got[80];
    yx_describe(n, got, sizeof got);
    return yx_fail(d, n, field, e, "expected %s, got %s", what, got);
}

int yx_expect_map(yx_doc *d, yaml_node_t *n, const char *field, qerr *e)
{
    return yx_expect(d, n, YAML_MAPPING_NODE, "a mapping", field, e);
}

int yx_expect_seq(yx_doc *d, yaml_node_t *n, const char *field, qerr *e)
{
    return yx_expect(d, n, YAML_SEQUENCE_NODE, "a sequence", field, e);
}

/* Key scalar equal to key (byte-wise, whole length)? */
static int yx_key_is(const yaml_node_t *k, const char *key)
{
    size_t len = strlen(key);
    return k && k->type == YAML_SCALAR_NODE && k->data.scalar.length == len &&
           memcmp(k->data.scalar.value, key, len) == 0;
}

yaml_node_t *yx_get(yx_doc *d, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
         p < map->data.mapping.pairs.top; p++) {
        if (yx_key_is(yaml_document_get_node(&d->doc, p->key), key))
            return yaml_document_get_node(&d->doc, p->value);
    }
    return NULL;
}

/* The word of words (NULL-terminated) nearest to s by edit distance, if it is
 * plausibly a typo of it (at most 2 edits, or a third of the word, and fewer
 * edits than s has letters); else NULL. */
static const char *yx_nearest(const char *s, const char *const *words)
{
    const char *best = NULL;
    int best_dist = 0;
    for (int i = 0; words[i]; i++) {
        int dist = yx_edit_distance(s, words[i]);
        if (!best || dist < best_dist) {
            best = words[i];
            best_dist = dist;
        }
    }
    if (!best)
        return NULL;
    int limit = (int)strlen(best) / 3 > 2 ? (int)strlen(best) / 3 : 2;
    return best_dist <= limit && best_dist < (int)strlen(s) ? best : NULL;
}

/* "a, b, c" from a NULL-terminated list, cut to fit cap. */
static void yx_join(const char *const *words, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; words[i] && used < cap - 1; i++)
        used += (size_t)snprintf(out + used, cap - used, "%s%s", i ? ", " : "", words[i]);
}

int yx_check_keys(yx_doc *d, yaml_node_t *map, const char *const *allowed,
                  const char *field, qerr *e)
{
    if (yx_expect_map(d, map, field, e))
        return -1;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
         p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(&d->doc, p->key);
        if (k->type != YAML_SCALAR_NODE)
            return yx_fail(d, k, field, e, "keys must be plain strings, got %s",
                           k->type == YAML_MAPPING_NODE ? "a mapping" : "a sequence");
        const char *name = (const char *)k->data.scalar.value;
        if (strlen(name) != k->data.scalar.length)
            return yx_fail(d, k, field, e, "key contains a NUL character");

        int known = 0;
        for (int i = 0; allowed[i]; i++)
            if (!strcmp(name, allowed[i]))
                known = 1;
        char at[256]; /* the field of this key: "FIELD.key" */
        snprintf(at, sizeof at, "%s%s%.80s", field && field[0] ? field : "",
                 field && field[0] ? "." : "", name);
        if (!known) {
            const char *best = yx_nearest(name, allowed);
            if (best)
                return yx_fail(d, k, at, e, "unknown key, did you mean '%s'?", best);
            if (!allowed[0])
                return yx_fail(d, k, at, e, "unknown key (no keys allowed here)");
            char list[300];
            yx_join(allowed, list, sizeof list);
            return yx_fail(d, k, at, e, "unknown key (valid keys: %s)", list);
        }
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *k0 = yaml_document_get_node(&d->doc, q->key);
            if (yx_key_is(k0, name))
                return yx_fail(d, k, at, e, "duplicate key (first on line %d)", yx_line(k0));
        }
    }
    return 0;
}

int yx_key_line(yx_doc *d, const yaml_node_t *node)
{
    int index = (int)(node - d->doc.nodes.start) + 1; /* libyaml numbers nodes from 1 */
    for (yaml_node_t *n = d->doc.nodes.start; n < d->doc.nodes.top; n++) {
        if (n->type != YAML_MAPPING_NODE)
            continue;
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++)
            if (p->value == index)
                return yx_line(yaml_document_get_node(&d->doc, p->key));
    }
    return yx_line(node);
}

int yx_seq_len(const yaml_node_t *seq)
{
    if (!seq || seq->type != YAML_SEQUENCE_NODE)
        return 0;
    return (int)(seq->data.sequence.items.top - seq->data.sequence.items.start);
}

yaml_node_t *yx_seq_item(yx_doc *d, yaml_node_t *seq, int i)
{
    if (i < 0 || i >= yx_seq_len(seq))
        return NULL;
    return yaml_document_get_node(&d->doc, seq->data.sequence.items.start[i]);
}

/* The text of a plain (unquoted) scalar, or NULL after setting e: numbers and
 * booleans must be written plain, "5" in quotes is a string in YAML. */
static const char *yx_plain(yx_doc *d, yaml_node_t *n, const char *field, const char *what,
                            const char *const *tags, qerr *e)
{
    if (!n || n->type != YAML_SCALAR_NODE || n->data.scalar.length == 0 ||
        n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
        char got[80];
        yx_describe(n, got, sizeof got);
        if (n && n->type == YAML_SCALAR_NODE && n->data.scalar.length > 0)
            yx_fail(d, n, field, e, "expected %s, got the quoted string %s", what, got);
        else
            yx_fail(d, n, field, e, "expected %s, got %s", what, got);
        return NULL;
    }
    const char *s = (const char *)n->data.scalar.value;
    if (strlen(s) != n->data.scalar.length) {
        yx_fail(d, n, field, e, "expected %s, got text with a NUL character", what);
        return NULL;
    }
    if (!yx_tag_ok(d, n, tags)) {
        char tag[48];
        yx_fail(d, n, field, e, "expected %s, got '%.60s' tagged %s", what, s,
                yx_tag_text(d, n, tag, sizeof tag));
        return NULL;
    }
    return s;
}

/* s refused by qnum: the message into e. Returns -1. */
static int yx_number_fail(yx_doc *d, yaml_node_t *n, const char *field, qnum_status st,
                          const char *s, int is_int, int64_t lo, int64_t hi, qerr *e)
{
    char why[200];
    return yx_fail(d, n, field, e, "%s", qnum_why(st, s, is_int, lo, hi, why, sizeof why));
}

int yx_int(yx_doc *d, yaml_node_t *n, const char *field, int64_t lo, int64_t hi,
           int64_t *out, qerr *e)
{
    static const char *const tags[] = {"int", NULL};
    const char *s = yx_plain(d, n, field, "an integer", tags, e);
    if (!s)
        return -1;
    qnum_status st = qnum_int(s, lo, hi, out);
    return st == QNUM_OK ? 0 : yx_number_fail(d, n, field, st, s, 1, lo, hi, e);
}

int yx_double(yx_doc *d, yaml_node_t *n, const char *field, double *out, qerr *e)
{
    static const char *const tags[] = {"float", "int", NULL};
    const char *s = yx_plain(d, n, field, "a number", tags, e);
    if (!s)
        return -1;
    qnum_status st = qnum_double(s, out);
    return st == QNUM_OK ? 0 : yx_number_fail(d, n, field, st, s, 0, 0, 0, e);
}

int yx_bool(yx_doc *d, yaml_node_t *n, const char *field, int *out, qerr *e)
{
    static const char *const tags[] = {"bool", NULL};
    const char *s = yx_plain(d, n, field, "true or false", tags, e);
    if (!s)
        return -1;
    if (!strcmp(s, "true"))
        *out = 1;
    else if (!strcmp(s, "false"))
        *out = 0;
    else
        return yx_fail(d, n, field, e, "expected true or false, got '%.60s'", s);
    return 0;
}

int yx_string(yx_doc *d, yaml_node_t *n, const char *field, char *out, size_t cap, qerr *e)
{
    if (!n || n->type != YAML_SCALAR_NODE) {
        char got[80];
        yx_describe(n, got, sizeof got);
        return yx_fail(d, n, field, e, "expected a string, got %s", got);
    }
    size_t len = n->data.scalar.length;
    if (strlen((const char *)n->data.scalar.value) != len)
        return yx_fail(d, n, field, e, "string contains a NUL character");
    static const char *const tags[] = {"str", NULL};
    if (!yx_tag_ok(d, n, tags)) {
        char tag[48];
        return yx_fail(d, n, field, e, "expected a string, got '%.60s' tagged %s",
                       (const char *)n->data.scalar.value, yx_tag_text(d, n, tag, sizeof tag));
    }
    if (len >= cap)
        return yx_fail(d, n, field, e, "longer than %zu characters", cap - 1);
    memcpy(out, n->data.scalar.value, len + 1);
    return 0;
}

int yx_enum(yx_doc *d, yaml_node_t *n, const char *field, const char *const *choices,
            int *out, qerr *e)
{
    char s[256];
    if (yx_string(d, n, field, s, sizeof s, e))
        return -1;
    for (int i = 0; choices[i]; i++) {
        if (!strcmp(s, choices[i])) {
            *out = i;
            return 0;
        }
    }
    char list[300];
    yx_join(choices, list, sizeof list);
    const char *best = yx_nearest(s, choices);
    if (best)
        return yx_fail(d, n, field, e, "unknown value '%.60s', did you mean '%s'? (one of: %s)",
                       s, best, list);
    return yx_fail(d, n, field, e, "unknown value '%.60s' (one of: %s)", s, list);
}

int yx_get_int(yx_doc *d, yaml_node_t *map, const char *key, const char *field,
               int64_t lo, int64_t hi, int64_t *out, qerr *e)
{
    yaml_node_t *n = yx_get(d, map, key);
    return n ? yx_int(d, n, field, lo, hi, out, e) : 0;
}

int yx_get_double(yx_doc *d, yaml_node_t *map, const char *key, const char *field,
                  double *out, qerr *e)
{
    yaml_node_t *n = yx_get(d, map, key);
    return n ? yx_double(d, n, field, out, e) : 0;
}

/* Optimal string alignment distance: insertions, deletions, substitutions and
 * swaps of neighbours ("kernle" -> "kernel") cost 1 each. Exact for strings up
 * to YX_EDIT_MAX characters; longer strings return the longer length (an upper
 * bound that never looks like a typo). */
int yx_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > YX_EDIT_MAX || lb > YX_EDIT_MAX)
        return (int)(la > lb ? la : lb);
    int prev2[YX_EDIT_MAX + 1], prev[YX_EDIT_MAX + 1], cur[YX_EDIT_MAX + 1];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int cost = a[i - 1] != b[j - 1];
            int best = prev[j] + 1;                        /* delete a[i-1] */
            if (cur[j - 1] + 1 < best) best = cur[j - 1] + 1;       /* insert b[j-1] */
            if (prev[j - 1] + cost < best) best = prev[j - 1] + cost; /* substitute */
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;                   /* swap neighbours */
            cur[j] = best;
        }
        memcpy(prev2, prev, (lb + 1) * sizeof *prev);
        memcpy(prev, cur, (lb + 1) * sizeof *cur);
    }
    return prev[lb];
}
