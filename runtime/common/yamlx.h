/* yamlx — reading YAML documents with errors that name file, line and field.
 *
 * Wraps libyaml's document API (yaml_parser_load) for the two YAML inputs of
 * qatc: the training config and the frozen model. Every accessor that can
 * fail returns 0 or -1 with a message "FILE:LINE: FIELD: problem" in e.
 * `field` is the dotted path of the value for messages, e.g.
 * "model.layers[3].conv2d.kernel".
 */
#ifndef QATC_YAMLX_H
#define QATC_YAMLX_H

#include <stdint.h>
#include <yaml.h>

#include "qerr.h"

typedef struct {
    yaml_document_t doc;
    char file[4096];
    int loaded;
    unsigned char *tagged; /* (nodes + 1) by node id: 1 when the file gave the node a tag */
    size_t tagged_cap;
} yx_doc;

/* What one document may hold. libyaml has no limits of its own (a file
 * nested 200,000 levels deep keeps it busy for minutes), so yx_load reads
 * libyaml's events itself and refuses a document that passes one of these
 * as soon as it does, before building more of it. */
typedef struct {
    int64_t max_bytes;  /* size of the file */
    int64_t max_nodes;  /* scalars and collections, an alias counted as all the nodes it
                         * stands for (so a walk over the document is bounded too) */
    int max_depth;      /* collections open at once */
} yx_limits;

/* The limits of yx_load: room for a frozen model with 2^24 weights in one
 * layer (~170 bytes of memory per value). */
#define YX_MAX_BYTES ((int64_t)512 << 20)
#define YX_MAX_NODES ((int64_t)1 << 25)
#define YX_MAX_DEPTH 32
#define YX_MAX_ANCHORS 256 /* anchors (&name) in one document */

/* Parses the file at path (one document) within the YX_MAX_* limits.
 * Only a regular file is read (a FIFO or a device is refused, never waited
 * on). Returns 0, or -1 with e naming the file and line of the syntax error,
 * of the limit passed ("FILE:LINE: nested deeper than 32 levels"), or the I/O
 * error; nothing is left allocated then. */
int yx_load(yx_doc *d, const char *path, qerr *e);

/* yx_load with other limits (each at most the YX_MAX_* one). */
int yx_load_limited(yx_doc *d, const char *path, const yx_limits *lim, qerr *e);

void yx_free(yx_doc *d);

yaml_node_t *yx_root(yx_doc *d);                 /* NULL for an empty document */
int yx_line(const yaml_node_t *n);                /* 1-based line of the node */

/* Type checks; on failure e says "FIELD: expected a mapping" etc. */
int yx_expect_map(yx_doc *d, yaml_node_t *n, const char *field, qerr *e);
int yx_expect_seq(yx_doc *d, yaml_node_t *n, const char *field, qerr *e);

/* The value of key in mapping map, or NULL if absent. */
yaml_node_t *yx_get(yx_doc *d, yaml_node_t *map, const char *key);

/* Rejects keys of map that are not in allowed (NULL-terminated), naming the
 * nearest allowed key (edit distance) in the message:
 * "FILE:LINE: FIELD.kernal: unknown key, did you mean 'kernel'?" (the field is
 * the key alone when field is ""). Also rejects duplicate keys. */
int yx_check_keys(yx_doc *d, yaml_node_t *map, const char *const *allowed,
                  const char *field, qerr *e);

/* Sequence access. */
int yx_seq_len(const yaml_node_t *seq);
yaml_node_t *yx_seq_item(yx_doc *d, yaml_node_t *seq, int i);

/* Scalars, range-checked. Numbers follow qnum's rules (decimal, whole, never
 * clamped) and must be plain (unquoted); a node the file tags is taken only
 * with its own type's tag (!!int for an integer; !!float or !!int for a
 * number; !!bool; !!str for a string): "!!str 4" is a string, not 4.
 * Strings are copied into out (size cap) and must fit. */
int yx_int(yx_doc *d, yaml_node_t *n, const char *field, int64_t lo, int64_t hi,
           int64_t *out, qerr *e);
int yx_double(yx_doc *d, yaml_node_t *n, const char *field, double *out, qerr *e); /* finite */
int yx_bool(yx_doc *d, yaml_node_t *n, const char *field, int *out, qerr *e);
int yx_string(yx_doc *d, yaml_node_t *n, const char *field, char *out, size_t cap, qerr *e);
/* One of choices (NULL-terminated); returns the index in *out. */
int yx_enum(yx_doc *d, yaml_node_t *n, const char *field, const char *const *choices,
            int *out, qerr *e);

/* Optional map members: when key is absent, *out keeps its value (the default). */
int yx_get_int(yx_doc *d, yaml_node_t *map, const char *key, const char *field,
               int64_t lo, int64_t hi, int64_t *out, qerr *e);
int yx_get_double(yx_doc *d, yaml_node_t *map, const char *key, const char *field,
                  double *out, qerr *e);

/* The 1-based line of the key whose value is node (the line of "model:" for
 * the mapping under it), or yx_line(node) when node is not a mapping value
 * (the root, a sequence item). For messages about what a mapping lacks. */
int yx_key_line(yx_doc *d, const yaml_node_t *node);

/* Edit distance, for suggestions (also used by the command line). */
int yx_edit_distance(const char *a, const char *b);

#endif
