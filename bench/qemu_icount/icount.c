/* icount — a QEMU TCG plugin that counts the guest instructions executed
 * between two marker functions of a bare-metal image.
 *
 *   qemu-system-arm ... -plugin icount.so,start=0xADDR,stop=0xADDR -d plugin -D LOG
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
 * measure; their addresses come from arm-none-eabi-nm (the Thumb bit is
 * ignored). A pair around nothing measures the overhead of the markers.
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

static void on_start(unsigned int vcpu_index, void *userdata)
{
    (void)vcpu_index;
    (void)userdata;
    at_start = executed;
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
    started = 0;
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
        else {
            fprintf(stderr, "icount: unknown or malformed argument '%s' "
                            "(want start=ADDR,stop=ADDR)\n", argv[i]);
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
