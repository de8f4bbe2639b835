/* show — shapes and the arena plan's table for people (see show.h). */
#include "show.h"

const char *show_shape(q_shape s, char *buf, size_t cap)
{
    snprintf(buf, cap, "(%d, %d, %d)", (int)s.h, (int)s.w, (int)s.c);
    return buf;
}

void show_plan(FILE *f, const q_model *m, const plan *p, const char *lead, const char *arena)
{
    fprintf(f, "%stensor  written by            shape              bytes  place          "
               "live steps\n", lead);
    for (int t = 0; t <= m->n_layers; t++) {
        const plan_tensor *pt = &p->t[t];
        char who[96], sh[48], place[32], live[32];
        if (t == 0)
            snprintf(who, sizeof who, "(input)");
        else if (pt->shares >= 0)
            snprintf(who, sizeof who, "%s (%s t%d)", m->layers[t - 1].name,
                     m->layers[t - 1].op == Q_OP_FLATTEN ? "view" : "over", pt->shares);
        else
            snprintf(who, sizeof who, "%s", m->layers[t - 1].name);
        if (pt->loc == PLAN_ARENA)
            snprintf(place, sizeof place, "%s + %d", arena, (int)pt->offset);
        else if (pt->loc == PLAN_SCRATCH)
            snprintf(place, sizeof place, "output + %d", (int)pt->offset);
        else
            snprintf(place, sizeof place, "%s",
                     pt->loc == PLAN_INPUT    ? "input"
                     : pt->loc == PLAN_OUTPUT ? "output"
                                              : "never stored");
        if (pt->loc == PLAN_FUSED)
            snprintf(live, sizeof live, "in step %d", pt->def);
        else if (t == m->n_layers)
            snprintf(live, sizeof live, "%d..end", pt->def);
        else
            snprintf(live, sizeof live, "%d..%d", pt->def, pt->last);
        fprintf(f, "%st%-6d %-21s %-18s %6d  %-14s %s\n", lead, t, who,
                show_shape(q_model_tensor_shape(m, t), sh, sizeof sh), (int)pt->size, place,
                live);
    }
}
