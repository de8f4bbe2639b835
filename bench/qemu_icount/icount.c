/* icount — a QEMU TCG plugin that counts the guest instructions executed
 * between two marker functions of a bare-metal image.
 *
 *   qemu-system-arm ... -plugin icount.so,start=0xADDR,stop=0xADDR -d plugin -D LOG
 *   (or qemu-system-riscv32: the plugin knows nothing of the guest's architecture)
 *
 * Every executed instruction adds one to a counter (an inline add, so the
 * count is exact, not sampled). Entering the instruction at `start` records
 * the counter; entering the one at `stop` writes
 *
 *   icount: N
 *
 * to the QEMU log, N = instructions executed from the first instruction at
 * `start` up to, not including, the first at `stop`. Each start/stop pair
 * writes one line. The image calls two noinline functions around the code to
 * measure; their addresses come from arm-none-eabi-nm or riscv64-unknown-elf-nm
 * (the Thumb bit is ignored). A pair around nothing measures the overhead of the markers.
 *
 * With pcs=on every instruction address also gets a counter of its own, and
 * each pair additionally writes, for every address executed inside it,
 *
 *   icount_pc: 0xADDR N
 *
 * so that a script can attribute the count to functions, or through the
 * debug information to inlined functions (bench/target/layers.sh).
 *
 * Debian's QEMU 7.2 accepts -plugin but ships no qemu-plugin.h, so the few
 * declarations of plugin API version 1 used here are written out below, as
 * they are in QEMU 7.2's include/qemu/qemu-plugin.h.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- QEMU plugin API v1 (QEMU 7.2), the parts this plugin uses ---- */
#define QEMU_PLUGIN_EXPORT __attribute__((visibility("default")))
typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t;      /* only passed through */
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn,
                                                enum qemu_plugin_op op, void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn,
                                            qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_outs(const char *string);
/* ---- end of the API declarations ---- */

QEMU_PLUGIN_EXPORT int qemu_plugin_version = 1;   /* QEMU_PLUGIN_VERSION of 7.2 */

static uint64_t start_addr, stop_addr;  /* marker entry points, Thumb bit cleared */
static uint64_t executed;               /* instructions executed so far (one vCPU) */
static uint64_t at_start;               /* `executed` when `start` was last entered */
static int started;

/* Per-address counters (pcs=on). They are allocated in blocks that never
 * move, because translated code holds pointers to them; a hash table
 * (open addressing, linear probing) finds an address's counter. */
typedef struct {
    uint64_t pc;
    uint64_t executed;      /* times the instruction at pc ran, so far */
    uint64_t at_start;      /* `executed` when `start` was last entered */
} pc_counter;
#define PC_BLOCK 4096
static int count_pcs;
static pc_counter **blocks;     /* (n_blocks) blocks of PC_BLOCK counters */
static size_t n_blocks, n_counters;
static pc_counter **table;      /* (table_size) slots, NULL = empty */
static size_t table_size;

#define COUNTER(i) (&blocks[(i) / PC_BLOCK][(i) % PC_BLOCK])

static void on_start(unsigned int vcpu_index, void *userdata)
{
    (void)vcpu_index;
    (void)userdata;
    at_start = executed;
    for (size_t i = 0; i < n_counters; i++)
        COUNTER(i)->at_start = COUNTER(i)->executed;
    started = 1;
}

static void on_stop(unsigned int vcpu_index, void *userdata)
{
    (void)vcpu_index;
    (void)userdata;
    if (!started)
        return;
    char line[64];
    snprintf(line, sizeof line, "icount: %" PRIu64 "\n", executed - at_start);
    qemu_plugin_outs(line);
    for (size_t i = 0; i < n_counters; i++) {
        pc_counter *c = COUNTER(i);
        if (c->executed == c->at_start)
            continue;
        snprintf(line, sizeof line, "icount_pc: 0x%" PRIx64 " %" PRIu64 "\n", c->pc,
                 c->executed - c->at_start);
        qemu_plugin_outs(line);
    }
    started = 0;
}

static size_t slot_of(uint64_t pc)
{
    return (size_t)((pc >> 1) * 0x9E3779B97F4A7C15ull) & (table_size - 1);
}

/* The counter of pc, made on first use; NULL when memory runs out. */
static pc_counter *counter_for(uint64_t pc)
{
    if (2 * (n_counters + 1) > table_size) {          /* keep the table half empty */
        size_t new_size = table_size ? 2 * table_size : 1 << 14;
        pc_counter **grown = calloc(new_size, sizeof *grown);
        if (!grown)
            return NULL;
        pc_counter **old = table;
        size_t old_size = table_size;
        table = grown;
        table_size = new_size;
        for (size_t i = 0; i < old_size; i++)
            if (old[i]) {
                size_t s = slot_of(old[i]->pc);
                while (table[s])
                    s = (s + 1) & (table_size - 1);
                table[s] = old[i];
            }
        free(old);
    }
    size_t s = slot_of(pc);
    while (table[s] && table[s]->pc != pc)
        s = (s + 1) & (table_size - 1);
    if (table[s])
        return table[s];
    if (n_counters == n_blocks * PC_BLOCK) {
        pc_counter **more = realloc(blocks, (n_blocks + 1) * sizeof *blocks);
        if (!more)
            return NULL;
        blocks = more;
        blocks[n_blocks] = calloc(PC_BLOCK, sizeof **blocks);
        if (!blocks[n_blocks])
            return NULL;
        n_blocks++;
    }
    pc_counter *c = COUNTER(n_counters);
    n_counters++;
    c->pc = pc;
    table[s] = c;
    return c;
}

/* At translation: count every instruction; hook the two markers. The
 * callbacks use the same ordering relative to the inline add at both
 * markers, so the difference is exact. */
static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t pc = qemu_plugin_insn_vaddr(insn);
        if (pc == start_addr)
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_start, QEMU_PLUGIN_CB_NO_REGS, NULL);
        if (pc == stop_addr)
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_stop, QEMU_PLUGIN_CB_NO_REGS, NULL);
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &executed, 1);
        if (count_pcs) {
            pc_counter *c = counter_for(pc);
            if (!c) {
                fprintf(stderr, "icount: out of memory\n");
                abort();
            }
            qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64,
                                                        &c->executed, 1);
        }
    }
}

static int parse_addr(const char *arg, const char *key, uint64_t *out)
{
    size_t k = strlen(key);
    if (strncmp(arg, key, k) != 0 || arg[k] != '=')
        return 0;
    char *end;
    *out = strtoull(arg + k + 1, &end, 0) & ~(uint64_t)1;
    return *end == '\0' && end != arg + k + 1;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                           int argc, char **argv);
QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                           int argc, char **argv)
{
    (void)info;
    int have_start = 0, have_stop = 0;
    for (int i = 0; i < argc; i++) {
        if (parse_addr(argv[i], "start", &start_addr))
            have_start = 1;
        else if (parse_addr(argv[i], "stop", &stop_addr))
            have_stop = 1;
        else if (!strcmp(argv[i], "pcs=on"))
            count_pcs = 1;
        else {
            fprintf(stderr, "icount: unknown or malformed argument '%s' "
                            "(want start=ADDR,stop=ADDR[,pcs=on])\n", argv[i]);
            return -1;
        }
    }
    if (!have_start || !have_stop) {
        fprintf(stderr, "icount: need start=ADDR and stop=ADDR\n");
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    return 0;
}
