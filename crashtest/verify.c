/*
 * verify.c: what the database must hold after a crash (README C3..C8). Each key is
 * read with alexdb_get and matched against its candidates, newest first: the pending
 * op, then the visible history (C2). The match is the op the key was recovered at;
 * every acknowledged op newer than it was lost, which is a violation if that op was
 * durable (C3) and otherwise an unsynced op legitimately gone. A value that matches no
 * candidate is an older version come back (C4) or a wrong value (C5).
 *
 * THE PREFIX RULE (C6). If op Y was acknowledged before op X was issued
 * (Y.ack_seq < X.start_seq), Y precedes X in the log, so a recovered X without Y is a
 * hole. Over all keys: the largest start_seq of a recovered op must not exceed the
 * smallest ack_seq of a lost acknowledged op. A key found absent where two deletes of
 * its history could explain it gives no evidence either way and is left out.
 *
 * Batches (C7): every key of a batch is at or past it, or every key is before it.
 * Then a full scan must list exactly the keys found present with the same values, and
 * alexdb_check must pass (C8).
 */
#include "crashtest.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct batch_mark {
    uint64_t batch_id;
    uint64_t key;
    bool applied;
} batch_mark;

typedef struct verify_ctx {
    alexdb *db;
    ct_expected *exp;
    unsigned flags;
    ct_verify_result *res;
    uint8_t *buf;
    batch_mark *marks;
    size_t mark_count, mark_capacity;
    uint64_t max_present_start, max_present_key;
    uint64_t min_absent_ack, min_absent_key;
    bool *present;           /* per key: found present (the scan must agree) */
    bool *known;             /* per key: a definite answer was read */
} verify_ctx;

static void problem(ct_verify_result *res, const char *fmt, ...) COMMON_PRINTF(2, 3);
static void problem(ct_verify_result *res, const char *fmt, ...)
{
    if (res->problem[0] != '\0') return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->problem, sizeof(res->problem), fmt, ap);
    va_end(ap);
}

uint64_t ct_verify_violations(const ct_verify_result *r)
{
    return r->lost + r->resurrected + r->wrong + r->holes + r->torn_batches + r->read_errors +
           r->check_failed;
}

static int mark_batch(verify_ctx *v, uint64_t batch_id, uint64_t key, bool applied)
{
    if (v->mark_count == v->mark_capacity) {
        size_t cap = v->mark_capacity == 0 ? 1024 : v->mark_capacity * 2;
        batch_mark *m = realloc(v->marks, cap * sizeof(*m));
        if (m == NULL) return ALEXDB_NOMEM;
        v->marks = m;
        v->mark_capacity = cap;
    }
    v->marks[v->mark_count++] = (batch_mark){.batch_id = batch_id, .key = key, .applied = applied};
    return ALEXDB_OK;
}

/* The candidate index the key was found at, or -1; *ambiguous if two deletes fit. */
static int match(const ct_op *cands, uint32_t count, uint64_t key, int rc, const uint8_t *value,
                 size_t size, bool *ambiguous)
{
    int m = -1;
    uint32_t fits = 0;
    for (uint32_t j = 0; j < count; j++) {
        bool del = (cands[j].flags & CT_OP_DELETE) != 0;
        bool fit = rc == ALEXDB_NOTFOUND ? del : !del && ct_value_equal(key, cands[j].version, value, size);
        if (!fit) continue;
        if (m < 0) m = (int)j;
        fits++;
    }
    *ambiguous = fits > 1;
    return m;
}

static void no_match(verify_ctx *v, const ct_key *k, uint64_t key, int rc, size_t size)
{
    ct_verify_result *res = v->res;
    if (rc == ALEXDB_NOTFOUND) {
        res->lost++;
        problem(res, "key %#" PRIx64 ": absent, but its acknowledged version %u is durable", key,
                ct_history_newest(v->exp, (uint32_t)ct_index_of(v->exp, key)).version);
        return;
    }
    for (uint32_t version = k->next_version; version >= 1 && version + 100000 > k->next_version; version--) {
        if (ct_value_equal(key, version, v->buf, size)) {
            res->resurrected++;
            problem(res, "key %#" PRIx64 ": holds version %u, which was overwritten or deleted", key, version);
            return;
        }
    }
    res->wrong++;
    problem(res, "key %#" PRIx64 ": holds %zu bytes that are no version of it", key, size);
}

/* C3, C6, C7 for one key found at candidate m. */
static int account(verify_ctx *v, const ct_op *cands, uint32_t count, bool pending, int m,
                   bool ambiguous, uint64_t key)
{
    ct_verify_result *res = v->res;
    if (pending) {
        if (m == 0) res->pending_present++;
        else res->pending_absent++;
    }
    for (int j = pending ? 1 : 0; j < m; j++) {
        if (ct_op_durable(v->exp, &cands[j]) && !(v->flags & CT_VERIFY_NO_DURABILITY)) {
            res->lost++;
            problem(res, "key %#" PRIx64 ": acknowledged durable version %u%s is lost (found version %u%s)",
                    key, cands[j].version, cands[j].flags & CT_OP_DELETE ? " (a delete)" : "",
                    cands[m].version, cands[m].flags & CT_OP_DELETE ? ", absent" : "");
        } else {
            res->unsynced_dropped++;
        }
    }
    if (ambiguous) return ALEXDB_OK;
    if (cands[m].start_seq > v->max_present_start) {
        v->max_present_start = cands[m].start_seq;
        v->max_present_key = key;
    }
    int newer = m - 1;
    if (newer >= (pending ? 1 : 0) && cands[newer].ack_seq < v->min_absent_ack) {
        v->min_absent_ack = cands[newer].ack_seq;
        v->min_absent_key = key;
    }
    for (uint32_t j = 0; j < count; j++) {
        if (cands[j].batch_id == 0) continue;
        int rc = mark_batch(v, cands[j].batch_id, key, (int)j >= m);
        if (rc != ALEXDB_OK) return rc;
    }
    return ALEXDB_OK;
}

static int verify_key(verify_ctx *v, uint32_t index, ct_op *observed)
{
    ct_verify_result *res = v->res;
    const ct_key *k = &v->exp->keys[index];
    uint64_t key = ct_key_of(v->exp, index);
    ct_op cands[CT_HISTORY + 1];
    uint32_t count = 0;
    ct_op hist[CT_HISTORY];
    uint32_t hist_count = ct_history_get(v->exp, index, hist);
    ct_op pend = k->pending;
    bool pending = (pend.flags & CT_OP_VALID) && pend.version != hist[0].version; /* C2 */
    if (pending) cands[count++] = pend;
    for (uint32_t j = 0; j < hist_count; j++) cands[count++] = hist[j];
    size_t size = 0;
    int rc = alexdb_get(v->db, key, v->buf, CT_VALUE_SIZE_MAX, &size);
    res->keys++;
    if (rc != ALEXDB_OK && rc != ALEXDB_NOTFOUND) {
        if ((v->flags & CT_VERIFY_ERRORS_OK) && rc == ALEXDB_CORRUPT) {
            res->clean_errors++;
        } else {
            res->read_errors++;
            problem(res, "key %#" PRIx64 ": get: %s (%s)", key, alexdb_strerror(rc), alexdb_errmsg());
        }
        return ALEXDB_OK;
    }
    if (rc == ALEXDB_OK && size > CT_VALUE_SIZE_MAX) {
        res->wrong++;
        problem(res, "key %#" PRIx64 ": value of %zu bytes, larger than any written", key, size);
        return ALEXDB_OK;
    }
    bool ambiguous = false;
    int m = match(cands, count, key, rc, v->buf, size, &ambiguous);
    if (m < 0) {
        no_match(v, k, key, rc, size);
        return ALEXDB_OK;
    }
    v->known[index] = true;
    v->present[index] = rc == ALEXDB_OK;
    res->present += rc == ALEXDB_OK;
    observed[index] = cands[m];
    res->digest = ct_mix(res->digest ^ ((uint64_t)index << 33 | (uint64_t)cands[m].version << 1 | (rc == ALEXDB_OK)));
    return account(v, cands, count, pending, m, ambiguous, key);
}

static int cmp_mark(const void *a, const void *b)
{
    const batch_mark *x = a, *y = b;
    return x->batch_id < y->batch_id ? -1 : x->batch_id > y->batch_id;
}

static void check_batches(verify_ctx *v)
{
    if (v->mark_count == 0) return;
    qsort(v->marks, v->mark_count, sizeof(*v->marks), cmp_mark);
    for (size_t i = 0; i < v->mark_count;) {
        size_t j = i;
        bool torn = false;
        while (j < v->mark_count && v->marks[j].batch_id == v->marks[i].batch_id) {
            torn |= v->marks[j].applied != v->marks[i].applied;
            j++;
        }
        if (torn) {
            v->res->torn_batches++;
            problem(v->res, "batch %" PRIu64 " is half there: key %#" PRIx64 " %s it", v->marks[i].batch_id,
                    v->marks[i].key, v->marks[i].applied ? "has" : "lacks");
        }
        i = j;
    }
}

/* C8: the scan lists exactly the keys found present, with the same values. */
static void check_scan(verify_ctx *v, const ct_op *observed)
{
    ct_verify_result *res = v->res;
    alexdb_iter *it = NULL;
    int rc = alexdb_iter_open(v->db, &it);
    if (rc != ALEXDB_OK) {
        res->check_failed++;
        problem(res, "iter_open: %s", alexdb_strerror(rc));
        return;
    }
    uint64_t seen = 0, prev = 0;
    uint64_t scan_max = (uint64_t)v->exp->hdr->key_count + 16;
    for (alexdb_iter_seek(it, 0); alexdb_iter_valid(it) && seen < scan_max; alexdb_iter_next(it)) {
        uint64_t key = alexdb_iter_key(it);
        int64_t index = ct_index_of(v->exp, key);
        if ((seen > 0 && key <= prev) || index < 0) {
            res->wrong++;
            problem(res, "scan: key %#" PRIx64 " %s", key, index < 0 ? "was never written" : "out of order");
            break;
        }
        prev = key;
        seen++;
        if (!v->known[index]) continue;
        const void *value = NULL;
        size_t size = 0;
        alexdb_iter_value(it, &value, &size);
        bool ok = v->present[index] && ct_value_equal(key, observed[index].version, value, size);
        if (!ok && alexdb_iter_status(it) == ALEXDB_OK) {
            res->check_failed++;
            problem(res, "scan: key %#" PRIx64 " disagrees with get", key);
        }
    }
    rc = alexdb_iter_status(it);
    if (rc == ALEXDB_CORRUPT && (v->flags & CT_VERIFY_ERRORS_OK)) {
        res->clean_errors++;
    } else if (rc != ALEXDB_OK) {
        res->check_failed++;
        problem(res, "scan: %s (%s)", alexdb_strerror(rc), alexdb_errmsg());
    } else if (seen != res->present && res->clean_errors == 0) {
        res->check_failed++;
        problem(res, "scan: %" PRIu64 " keys, get found %" PRIu64, seen, res->present);
    }
    (void)alexdb_iter_close(it);
}

static void check_integrity(verify_ctx *v)
{
    int rc = alexdb_check(v->db);
    if (rc == ALEXDB_OK) return;
    if (rc == ALEXDB_CORRUPT && (v->flags & CT_VERIFY_ERRORS_OK)) {
        v->res->clean_errors++;
        return;
    }
    v->res->check_failed++;
    problem(v->res, "alexdb_check: %s (%s)", alexdb_strerror(rc), alexdb_errmsg());
}

int ct_verify(alexdb *db, ct_expected *exp, unsigned flags, ct_verify_result *res, ct_op *observed_out)
{
    memset(res, 0, sizeof(*res));
    uint32_t key_count = exp->hdr->key_count;
    verify_ctx v = {.db = db, .exp = exp, .flags = flags, .res = res, .min_absent_ack = UINT64_MAX};
    v.buf = malloc(CT_VALUE_SIZE_MAX);
    v.present = calloc(key_count, sizeof(bool));
    v.known = calloc(key_count, sizeof(bool));
    ct_op *observed = observed_out != NULL ? observed_out : malloc(key_count * sizeof(ct_op));
    int rc = v.buf != NULL && v.present != NULL && v.known != NULL && observed != NULL ? ALEXDB_OK : ALEXDB_NOMEM;
    if (observed != NULL) memset(observed, 0, key_count * sizeof(ct_op));
    for (uint32_t i = 0; i < key_count && rc == ALEXDB_OK; i++) rc = verify_key(&v, i, observed);
    if (rc == ALEXDB_OK) {
        if (v.min_absent_ack < v.max_present_start) {
            res->holes++;
            problem(res, "not a prefix: key %#" PRIx64 " lost an op acknowledged (#%" PRIu64 ") before key %#" PRIx64
                    "'s recovered op was issued (#%" PRIu64 ")", v.min_absent_key, v.min_absent_ack,
                    v.max_present_key, v.max_present_start);
        }
        check_batches(&v);
        check_scan(&v, observed);
        check_integrity(&v);
    }
    free(v.marks);
    free(v.buf);
    free(v.present);
    free(v.known);
    if (observed != observed_out) free(observed);
    return rc;
}

void ct_expected_resolve(ct_expected *exp, const ct_op *observed)
{
    for (uint32_t i = 0; i < exp->hdr->key_count; i++) {
        ALEXDB_ASSERT(observed[i].flags & CT_OP_VALID);
        ct_expected_set_base(exp, i, observed[i].version, (observed[i].flags & CT_OP_DELETE) != 0);
    }
    ct_expected_reset_order(exp);
}
