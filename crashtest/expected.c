/*
 * expected.c: the expected-state file. A file mapped MAP_SHARED, so what the workload
 * records survives a SIGKILL of its process (RocksDB's db_stress expected state,
 * ANCHORS.md 9): a header (the acknowledgement order, C1) and one ct_key per key (its
 * last CT_HISTORY - 1 operations and the pending one, C2).
 *
 * KILL SAFETY. A process may die between any two stores. Publishing is ordered so that
 * the reader after the kill sees a consistent entry: an operation is written to the
 * free ring slot before hist_next makes it visible, and its pending record is cleared
 * only after that; pending is set (flags last) before the operation is issued. A
 * pending that equals the newest visible operation was acknowledged (verify.c).
 * Each key is written by one thread only (workload.c: keys are owned by threads).
 */
#include "crashtest.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#define CT_HEADER_SIZE 4096u
_Static_assert(sizeof(ct_header) <= CT_HEADER_SIZE, "the header fits its page");
_Static_assert(CT_HISTORY >= 3, "at least two visible operations per key");

#define CT_KEY_MULTIPLIER UINT64_C(0x9E3779B97F4A7C15) /* odd: a bijection of uint64_t */
#define CT_KEY_STRIDE 16u

/* The inverse of an odd number modulo 2^64 (Newton's iteration doubles the bits). */
static uint64_t mul_inverse(uint64_t a)
{
    uint64_t x = a;
    for (int i = 0; i < 6; i++) x *= 2 - a * x;
    ALEXDB_ASSERT(x * a == 1);
    return x;
}

int ct_expected_create(const char *path, uint32_t key_count, uint32_t key_mode, uint64_t key_base,
                       ct_expected *exp)
{
    ALEXDB_ASSERT(key_count > 0 && key_mode <= 1);
    memset(exp, 0, sizeof(*exp));
    exp->map_size = CT_HEADER_SIZE + (size_t)key_count * sizeof(ct_key);
    exp->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (exp->fd < 0) return common_error(ALEXDB_IO, "%s: %s", path, strerror(errno));
    if (ftruncate(exp->fd, (off_t)exp->map_size) != 0) {
        close(exp->fd);
        return common_error(ALEXDB_IO, "%s: ftruncate: %s", path, strerror(errno));
    }
    void *map = mmap(NULL, exp->map_size, PROT_READ | PROT_WRITE, MAP_SHARED, exp->fd, 0);
    if (map == MAP_FAILED) {
        close(exp->fd);
        return common_error(ALEXDB_IO, "%s: mmap: %s", path, strerror(errno));
    }
    exp->hdr = map;
    exp->keys = (ct_key *)((uint8_t *)map + CT_HEADER_SIZE);
    exp->hdr->magic = CT_EXPECTED_MAGIC;
    exp->hdr->key_count = key_count;
    exp->hdr->key_mode = key_mode;
    exp->hdr->key_base = key_mode == 0 ? key_base % (UINT64_C(1) << 60) : key_base;
    exp->key_mul_inverse = mul_inverse(CT_KEY_MULTIPLIER);
    for (uint32_t i = 0; i < key_count; i++) ct_expected_set_base(exp, i, 0, true);
    ct_expected_reset_order(exp);
    return ALEXDB_OK;
}

void ct_expected_close(ct_expected *exp)
{
    if (exp->hdr != NULL) munmap(exp->hdr, exp->map_size);
    if (exp->fd >= 0) close(exp->fd);
    exp->hdr = NULL;
    exp->keys = NULL;
    exp->fd = -1;
}

uint64_t ct_key_of(const ct_expected *exp, uint32_t index)
{
    ALEXDB_ASSERT(index < exp->hdr->key_count);
    if (exp->hdr->key_mode == 0) return exp->hdr->key_base + (uint64_t)index * CT_KEY_STRIDE;
    return ((uint64_t)index * CT_KEY_MULTIPLIER) ^ exp->hdr->key_base;
}

int64_t ct_index_of(const ct_expected *exp, uint64_t key)
{
    uint64_t index;
    if (exp->hdr->key_mode == 0) {
        if (key < exp->hdr->key_base || (key - exp->hdr->key_base) % CT_KEY_STRIDE != 0) return -1;
        index = (key - exp->hdr->key_base) / CT_KEY_STRIDE;
    } else {
        index = (key ^ exp->hdr->key_base) * exp->key_mul_inverse;
    }
    return index < exp->hdr->key_count ? (int64_t)index : -1;
}

void ct_expected_set_base(ct_expected *exp, uint32_t index, uint32_t version, bool deleted)
{
    ct_key *k = &exp->keys[index];
    memset(k->hist, 0, sizeof(k->hist));
    memset(&k->pending, 0, sizeof(k->pending));
    k->hist[0] = (ct_op){.version = version,
                         .flags = CT_OP_VALID | CT_OP_SYNCED | (deleted ? CT_OP_DELETE : 0u)};
    k->hist_next = 1;
    if (k->next_version < version) k->next_version = version;
}

void ct_expected_reset_order(ct_expected *exp)
{
    /* Every base op has ack_seq 0 < durable_ack, and every later op starts at >= 1. */
    atomic_store(&exp->hdr->ack_counter, 1);
    atomic_store(&exp->hdr->durable_ack, 1);
    atomic_store(&exp->hdr->acked_count, 0);
    atomic_store(&exp->hdr->live_wrong, 0);
    atomic_store(&exp->hdr->child_ready, 0);
    atomic_store(&exp->hdr->child_rc, 0);
    exp->hdr->message[0] = '\0';
}

void ct_pending_begin(ct_expected *exp, uint32_t index, const ct_op *op)
{
    ct_op *p = &exp->keys[index].pending;
    __atomic_store_n(&p->flags, 0, __ATOMIC_RELEASE);
    p->version = op->version;
    p->start_seq = op->start_seq;
    p->ack_seq = 0;
    p->batch_id = op->batch_id;
    __atomic_store_n(&p->flags, op->flags | CT_OP_VALID, __ATOMIC_RELEASE);
}

void ct_pending_clear(ct_expected *exp, uint32_t index)
{
    __atomic_store_n(&exp->keys[index].pending.flags, 0, __ATOMIC_RELEASE);
}

void ct_history_append(ct_expected *exp, uint32_t index, const ct_op *op)
{
    ct_key *k = &exp->keys[index];
    uint64_t n = __atomic_load_n(&k->hist_next, __ATOMIC_ACQUIRE);
    ct_op *slot = &k->hist[n % CT_HISTORY]; /* not visible: C2 */
    __atomic_store_n(&slot->flags, 0, __ATOMIC_RELEASE);
    slot->version = op->version;
    slot->start_seq = op->start_seq;
    slot->ack_seq = op->ack_seq;
    slot->batch_id = op->batch_id;
    __atomic_store_n(&slot->flags, op->flags | CT_OP_VALID, __ATOMIC_RELEASE);
    __atomic_store_n(&k->hist_next, n + 1, __ATOMIC_RELEASE);
}

uint32_t ct_history_get(const ct_expected *exp, uint32_t index, ct_op *out)
{
    const ct_key *k = &exp->keys[index];
    uint64_t n = __atomic_load_n(&k->hist_next, __ATOMIC_ACQUIRE);
    ALEXDB_ASSERT(n >= 1);
    uint32_t count = (uint32_t)COMMON_MIN(n, (uint64_t)CT_HISTORY - 1);
    for (uint32_t i = 0; i < count; i++) out[i] = k->hist[(n - 1 - i) % CT_HISTORY];
    return count;
}

ct_op ct_history_newest(const ct_expected *exp, uint32_t index)
{
    const ct_key *k = &exp->keys[index];
    uint64_t n = __atomic_load_n(&k->hist_next, __ATOMIC_ACQUIRE);
    ALEXDB_ASSERT(n >= 1);
    return k->hist[(n - 1) % CT_HISTORY];
}

bool ct_op_durable(const ct_expected *exp, const ct_op *op)
{
    return (op->flags & CT_OP_SYNCED) != 0 || op->ack_seq < atomic_load(&exp->hdr->durable_ack);
}

static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;

void ct_live_problem(ct_expected *exp, const char *fmt, ...)
{
    atomic_fetch_add(&exp->hdr->live_wrong, 1);
    pthread_mutex_lock(&live_lock);
    if (exp->hdr->message[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(exp->hdr->message, sizeof(exp->hdr->message), fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&live_lock);
}
