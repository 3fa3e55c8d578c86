/*
 * modes.c: a chain (one database living through several cycles of one mode) and one
 * cycle of kill, powercut and ioerror (README "Modes"). Every cycle ends in
 * ct_recover_and_verify: the image the crash left is copied aside (saved if the cycle
 * fails), reopened on the fault backend with no faults (to count the recovery's I/Os,
 * where a later recovery cut may land), timed, verified (verify.c) and resolved (C9).
 */
#include "crashtest.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void ct_cycle_problem(ct_cycle *cycle, const char *fmt, ...)
{
    cycle->other_violations++;
    if (cycle->problem[0] != '\0') return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cycle->problem, sizeof(cycle->problem), fmt, ap);
    va_end(ap);
}

static void sleep_us(uint64_t us)
{
    struct timespec ts = {.tv_sec = (time_t)(us / 1000000), .tv_nsec = (long)(us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/*
 * I/Os per workload operation, learned only from runs that did their whole budget, so
 * it never shrinks toward the fault points themselves. A fault point drawn over budget
 * x rate x 5/4 lands anywhere in a run, or (about one time in five) after it: such runs
 * are the ones that teach the rate.
 */
typedef struct io_rate {
    double per_op;
} io_rate;

static uint64_t io_rate_draw(const io_rate *r, common_rng *rng, uint64_t ops)
{
    return 1 + common_rng_below(rng, (uint64_t)(r->per_op * (double)ops * 1.25) + 8);
}

static void io_rate_learn(io_rate *r, uint64_t io, uint64_t ops)
{
    if (ops > 0) r->per_op = (r->per_op + (double)io / (double)ops) / 2;
}

int ct_open(ct_chain *chain, pager_fault *fault, int sync, alexdb **db_out)
{
    alexdb_options opts;
    alexdb_options_init(&opts);
    opts.sync = sync;
    opts.cache_bytes = chain->cache_bytes;
    opts.sync_interval_ms = chain->sync_interval_ms;
    *db_out = NULL;
    pager_env env = {.backend = PAGER_BACKEND_FAULT, .fault = fault};
    return api_open_with(chain->db_dir, &opts, fault != NULL ? &env : NULL,
                         chain->run->seeded ? API_OPEN_MANUAL_BACKGROUND : 0, db_out);
}

/* ---- Chains ------------------------------------------------------------------------ */

typedef struct preload_item {
    uint64_t key;
    uint32_t index;
} preload_item;

static int cmp_item(const void *a, const void *b)
{
    const preload_item *x = a, *y = b;
    return x->key < y->key ? -1 : x->key > y->key;
}

/* Bulk-loads count keys at version 1 into the new, empty database. */
static int preload(ct_chain *chain, alexdb *db, uint32_t count, common_rng *rng)
{
    ct_expected *exp = &chain->exp;
    uint32_t key_count = exp->hdr->key_count;
    preload_item *items = malloc(count * sizeof(*items));
    uint64_t *keys = malloc(count * sizeof(*keys));
    const void **values = calloc(count, sizeof(*values));
    size_t *sizes = malloc(count * sizeof(*sizes));
    int rc = items && keys && values && sizes ? ALEXDB_OK : ALEXDB_NOMEM;
    uint32_t start = (uint32_t)common_rng_below(rng, key_count);
    for (uint32_t i = 0; i < count && rc == ALEXDB_OK; i++) {
        uint32_t index = (start + i) % key_count;
        items[i] = (preload_item){.key = ct_key_of(exp, index), .index = index};
    }
    if (rc == ALEXDB_OK) qsort(items, count, sizeof(*items), cmp_item);
    for (uint32_t i = 0; i < count && rc == ALEXDB_OK; i++) {
        keys[i] = items[i].key;
        sizes[i] = ct_value_size(keys[i], 1);
        uint8_t *v = malloc(sizes[i] + 1);
        if (v == NULL) rc = ALEXDB_NOMEM;
        else ct_value_fill(keys[i], 1, v, sizes[i]);
        values[i] = v;
    }
    if (rc == ALEXDB_OK) rc = alexdb_bulk_load(db, keys, values, sizes, count);
    for (uint32_t i = 0; i < count && rc == ALEXDB_OK; i++) ct_expected_set_base(exp, items[i].index, 1, false);
    for (uint32_t i = 0; values != NULL && i < count; i++) free((void *)values[i]);
    free(items);
    free(keys);
    free(values);
    free(sizes);
    return rc;
}

int ct_chain_start(ct_run *run, ct_chain *chain, ct_mode mode, uint64_t seed)
{
    memset(chain, 0, sizeof(*chain));
    chain->exp.fd = -1;
    chain->run = run;
    chain->mode = mode;
    chain->seed = seed;
    common_rng rng;
    common_rng_seed(&rng, seed);
    chain->db_dir = ct_path(run->work_dir, "db");
    chain->image_dir = ct_path(run->work_dir, "image");
    chain->exp_path = ct_path(run->work_dir, "expected");
    ct_rmrf(chain->db_dir);
    bool corrupt = mode == CT_MODE_CORRUPT;
    chain->thread_count = corrupt ? 1 : 1 + (uint32_t)common_rng_below(&rng, run->thread_max);
    chain->sync = corrupt ? 1 : (int)common_rng_below(&rng, 2);
    static const size_t caches[] = {PAGER_CACHE_SIZE_MIN, 1u << 20, 4u << 20};
    chain->cache_bytes = caches[common_rng_below(&rng, COMMON_ARRAY_COUNT(caches))];
    chain->sync_interval_ms = chain->sync == 0 && common_rng_below(&rng, 3) == 0 ? 50 : 0;
    uint32_t key_count = 256 * chain->thread_count + (uint32_t)common_rng_below(&rng, 2048);
    int rc = ct_expected_create(chain->exp_path, key_count, (uint32_t)common_rng_below(&rng, 2),
                                common_rng_next(&rng), &chain->exp);
    if (rc != ALEXDB_OK) return rc;
    alexdb *db = NULL;
    rc = ct_open(chain, NULL, 1, &db); /* created outside any fault: the chain's base */
    if (rc != ALEXDB_OK) return rc;
    if (common_rng_below(&rng, 2) == 0) {
        rc = preload(chain, db, 1 + (uint32_t)common_rng_below(&rng, key_count), &rng);
    }
    int close_rc = alexdb_close(db);
    return rc != ALEXDB_OK ? rc : close_rc;
}

void ct_chain_end(ct_chain *chain)
{
    ct_expected_close(&chain->exp);
    if (chain->db_dir != NULL) ct_rmrf(chain->db_dir);
    free(chain->db_dir);
    free(chain->image_dir);
    free(chain->exp_path);
    memset(chain, 0, sizeof(*chain));
}

/* ---- Recovery and verification ------------------------------------------------------ */

static void record_recovery(ct_run *run, uint64_t ns)
{
    if (run->recovery_count == run->recovery_capacity) {
        size_t cap = run->recovery_capacity == 0 ? 1024 : run->recovery_capacity * 2;
        uint64_t *p = realloc(run->recovery_ns, cap * sizeof(*p));
        if (p == NULL) return;
        run->recovery_ns = p;
        run->recovery_capacity = cap;
    }
    run->recovery_ns[run->recovery_count++] = ns;
}

int ct_recover_and_verify(ct_chain *chain, ct_cycle *cycle)
{
    int rc = ct_copy_dir(chain->db_dir, chain->image_dir);
    if (rc != ALEXDB_OK) return rc;
    pager_fault_config fc = {.seed = cycle->seed};
    pager_fault *fault = NULL;
    rc = pager_fault_create(&fc, &fault);
    if (rc != ALEXDB_OK) return rc;
    alexdb *db = NULL;
    uint64_t t0 = common_now_ns();
    int open_rc = ct_open(chain, fault, 1, &db);
    cycle->recovery_ns = common_now_ns() - t0;
    pager_fault_stats fs;
    pager_fault_stats_get(fault, &fs);
    chain->run->recovery_io_guess = fs.io_count;
    if (open_rc != ALEXDB_OK) {
        ct_cycle_problem(cycle, "recovery refused the image: %s (%s)", alexdb_strerror(open_rc), alexdb_errmsg());
        pager_fault_destroy(fault);
        return ALEXDB_OK;
    }
    record_recovery(chain->run, cycle->recovery_ns);
    ct_header *hdr = chain->exp.hdr;
    if (atomic_load(&hdr->live_wrong) > 0) {
        ct_cycle_problem(cycle, "the workload saw %" PRIu64 " wrong results: %s", atomic_load(&hdr->live_wrong),
                         hdr->message);
    }
    ct_op *observed = malloc(hdr->key_count * sizeof(ct_op));
    rc = observed != NULL ? ct_verify(db, &chain->exp, 0, &cycle->verify, observed) : ALEXDB_NOMEM;
    if (rc == ALEXDB_OK && ct_verify_violations(&cycle->verify) == 0 && cycle->other_violations == 0) {
        ct_expected_resolve(&chain->exp, observed);
    }
    free(observed);
    /* Half the time a clean close (a checkpoint after recovery); else as if it died. */
    if (ct_mix(cycle->seed) & 1) {
        int close_rc = alexdb_close(db);
        if (close_rc != ALEXDB_OK) ct_cycle_problem(cycle, "close after verification: %s", alexdb_strerror(close_rc));
    } else {
        api_abandon(db);
    }
    pager_fault_destroy(fault);
    return rc;
}

/* ---- kill ------------------------------------------------------------------------------ */

/*
 * The child of a kill cycle: runs the workload until it is killed. Seeded, it runs on a
 * fault domain that SIGKILLs it at I/O number kill_at, and kills itself if its budget
 * runs out first; free, it runs on the default backend until the parent's SIGKILL.
 */
static void kill_child(ct_chain *chain, ct_cycle *cycle, uint64_t kill_at, uint64_t op_budget)
{
    ct_header *hdr = chain->exp.hdr;
    alarm(60); /* never outlives a lost parent */
    pager_fault *fault = NULL;
    if (chain->run->seeded) {
        pager_fault_config fc = {.seed = cycle->seed, .kill_at = kill_at};
        if (pager_fault_create(&fc, &fault) != ALEXDB_OK) _exit(2);
    }
    alexdb *db = NULL;
    int rc = ct_open(chain, fault, chain->sync, &db);
    if (rc != ALEXDB_OK) {
        snprintf(hdr->message, sizeof(hdr->message), "child: open: %s (%s)", alexdb_strerror(rc), alexdb_errmsg());
        atomic_store(&hdr->child_rc, rc);
        _exit(2);
    }
    atomic_store(&hdr->child_ready, 1);
    ct_workload w = {.db = db, .exp = &chain->exp, .thread_count = chain->thread_count,
                     .sync = chain->sync, .seed = cycle->seed, .op_budget = op_budget,
                     .seeded = chain->run->seeded};
    rc = ct_workload_run(&w);
    int first = atomic_load(&w.first_error);
    if (fault != NULL && rc == ALEXDB_OK && first == ALEXDB_OK) {
        pager_fault_stats fs;
        pager_fault_stats_get(fault, &fs);
        atomic_store(&hdr->child_io, fs.io_count);
        (void)kill(getpid(), SIGKILL); /* the budget ran out before kill_at: die here */
    }
    snprintf(hdr->message, sizeof(hdr->message), "child: the workload stopped: %s",
             alexdb_strerror(rc != ALEXDB_OK ? rc : first));
    atomic_store(&hdr->child_rc, rc != ALEXDB_OK ? rc : first);
    _exit(3);
}

/* Waits up to us for the child; true if it exited by itself (then *status is set). */
static bool child_exited(pid_t pid, uint64_t us, int *status)
{
    for (uint64_t waited = 0;; waited += 1000) {
        if (waitpid(pid, status, WNOHANG) == pid) return true;
        if (waited >= us) return false;
        sleep_us(1000);
    }
}

static io_rate kill_rate = {4.0}; /* seeded: a child's I/Os (its open's too) per op */

int ct_cycle_kill(ct_chain *chain, ct_cycle *cycle)
{
    ct_header *hdr = chain->exp.hdr;
    common_rng rng;
    common_rng_seed(&rng, cycle->seed);
    bool early = common_rng_below(&rng, 5) == 0; /* maybe during the child's open (recovery) */
    /* Seeded: the I/O the child dies at. Free: when the parent kills it. */
    uint64_t op_budget = chain->run->seeded ? 30 + common_rng_below(&rng, 220) : 0;
    uint64_t ops = op_budget * chain->thread_count;
    uint64_t kill_at = early ? 1 + common_rng_below(&rng, chain->run->recovery_io_guess + 8)
                             : io_rate_draw(&kill_rate, &rng, ops);
    uint64_t delay_us = early ? common_rng_below(&rng, 20000) : 5000 + common_rng_below(&rng, 200000);
    atomic_store(&hdr->child_ready, 0);
    atomic_store(&hdr->child_io, 0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return common_error(ALEXDB_IO, "fork: %s", strerror(errno));
    if (pid == 0) kill_child(chain, cycle, kill_at, op_budget);
    int status = 0;
    bool exited = false;
    if (chain->run->seeded) {
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        exited = true;
    } else if (!early) {
        for (int i = 0; i < 20000 && !atomic_load(&hdr->child_ready) && !exited; i++) {
            exited = child_exited(pid, 1000, &status);
        }
    }
    if (!exited) exited = child_exited(pid, delay_us, &status);
    if (!exited) {
        kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    }
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
        ct_cycle_problem(cycle, "the workload process ended by itself (status %#x): %s", status, hdr->message);
    }
    uint64_t ran_out = atomic_load(&hdr->child_io);
    if (ran_out != 0) io_rate_learn(&kill_rate, ran_out, ops);
    cycle->acked = atomic_load(&hdr->acked_count);
    if (chain->run->seeded) {
        snprintf(cycle->detail, sizeof(cycle->detail), "kill@io%" PRIu64 "%s", ran_out != 0 ? ran_out : kill_at,
                 ran_out != 0 ? "(idle)" : atomic_load(&hdr->child_ready) ? "" : " (in open)");
    } else {
        snprintf(cycle->detail, sizeof(cycle->detail), "kill@%" PRIu64 "ms%s", delay_us / 1000,
                 atomic_load(&hdr->child_ready) ? "" : " (in open)");
    }
    return ct_recover_and_verify(chain, cycle);
}

/* ---- powercut ------------------------------------------------------------------------- */

/* Runs the workload on the fault domain until op_budget or the first failed write. */
static int run_on(ct_chain *chain, ct_cycle *cycle, pager_fault *fault, uint64_t op_budget, bool tolerate,
                  alexdb **db_out, ct_workload *w)
{
    int rc = ct_open(chain, fault, chain->sync, db_out);
    if (rc != ALEXDB_OK) return rc;
    *w = (ct_workload){.db = *db_out, .exp = &chain->exp, .thread_count = chain->thread_count,
                       .sync = chain->sync, .seed = cycle->seed, .op_budget = op_budget,
                       .tolerate_read_errors = tolerate, .fault = fault,
                       .seeded = chain->run->seeded};
    return ct_workload_run(w);
}

/* A failed open or write that no injected fault explains is a violation of its own. */
static void check_unexplained_failures(ct_cycle *cycle, int rc, const alexdb *db, ct_workload *w,
                                       bool faulted)
{
    if (faulted) return;
    if (rc != ALEXDB_OK) {
        ct_cycle_problem(cycle, "open or workload failed without a fault: %s (%s)", alexdb_strerror(rc), alexdb_errmsg());
    }
    if (db != NULL && atomic_load(&w->write_errors) > 0) {
        ct_cycle_problem(cycle, "a write failed without a fault: %s", alexdb_strerror(atomic_load(&w->first_error)));
    }
}

/* A cut during the recovery of the image the first cut left (then the cut after it). */
static int recovery_cut(ct_chain *chain, ct_cycle *cycle, common_rng *rng)
{
    pager_fault_config fc = {.seed = ct_mix(cycle->seed), .tear = 1,
                             .powercut_at = 1 + common_rng_below(rng, chain->run->recovery_io_guess + 8)};
    pager_fault *fault = NULL;
    int rc = pager_fault_create(&fc, &fault);
    if (rc != ALEXDB_OK) return rc;
    alexdb *db = NULL;
    rc = ct_open(chain, fault, chain->sync, &db);
    if (rc == ALEXDB_OK) {
        if (pager_fault_powercut(fault) != ALEXDB_OK) ct_cycle_problem(cycle, "powercut: %s", alexdb_errmsg());
        (void)alexdb_close(db);
    } else if (!pager_fault_is_cut(fault)) {
        ct_cycle_problem(cycle, "open without a fault failed: %s (%s)", alexdb_strerror(rc), alexdb_errmsg());
    }
    size_t len = strlen(cycle->detail);
    snprintf(cycle->detail + len, sizeof(cycle->detail) - len, " +recovery-cut@%" PRIu64 "%s", fc.powercut_at,
             rc == ALEXDB_OK ? "(after open)" : "");
    chain->run->recovery_cuts++;
    pager_fault_destroy(fault);
    return ALEXDB_OK;
}

static io_rate powercut_rate = {4.0};

int ct_cycle_powercut(ct_chain *chain, ct_cycle *cycle)
{
    common_rng rng;
    common_rng_seed(&rng, cycle->seed);
    uint64_t op_budget = 30 + common_rng_below(&rng, 220);
    pager_fault_config fc = {.seed = cycle->seed, .tear = 1,
                             .powercut_at = io_rate_draw(&powercut_rate, &rng, op_budget * chain->thread_count)};
    pager_fault *fault = NULL;
    int rc = pager_fault_create(&fc, &fault);
    if (rc != ALEXDB_OK) return rc;
    alexdb *db = NULL;
    ct_workload w;
    rc = run_on(chain, cycle, fault, op_budget, false, &db, &w);
    bool cut_in_run = pager_fault_is_cut(fault);
    check_unexplained_failures(cycle, rc, db, &w, cut_in_run);
    if (!pager_fault_is_cut(fault) && pager_fault_powercut(fault) != ALEXDB_OK) {
        ct_cycle_problem(cycle, "powercut: %s", alexdb_errmsg());
    }
    if (db != NULL) (void)alexdb_close(db);
    pager_fault_stats fs;
    pager_fault_stats_get(fault, &fs);
    if (!cut_in_run && atomic_load(&w.write_errors) == 0) {
        io_rate_learn(&powercut_rate, fs.io_count, op_budget * chain->thread_count);
    }
    pager_fault_destroy(fault);
    cycle->acked = atomic_load(&chain->exp.hdr->acked_count);
    snprintf(cycle->detail, sizeof(cycle->detail), "cut@%" PRIu64 "%s kept/dropped/torn %" PRIu64 "/%" PRIu64
             "/%" PRIu64, cut_in_run ? fc.powercut_at : fs.io_count, cut_in_run ? "" : "(idle)",
             fs.cut_kept_count, fs.cut_dropped_count, fs.cut_torn_count);
    if (common_rng_below(&rng, 3) == 0) {
        rc = recovery_cut(chain, cycle, &rng);
        if (rc != ALEXDB_OK) return rc;
    }
    return ct_recover_and_verify(chain, cycle);
}

/* ---- ioerror --------------------------------------------------------------------------- */

static const char *const ioerror_names[] = {"read-EIO", "write-EIO", "write-ENOSPC", "sync-EIO",
                                            "short-read", "short-write"};
static io_rate ioerror_rates[3] = {{1.0}, {2.0}, {1.0}}; /* reads, writes, syncs per op */

static void ioerror_config(pager_fault_config *fc, uint32_t kind, uint64_t ops, common_rng *rng)
{
    uint64_t reads = io_rate_draw(&ioerror_rates[0], rng, ops);
    uint64_t writes = io_rate_draw(&ioerror_rates[1], rng, ops);
    uint64_t syncs = io_rate_draw(&ioerror_rates[2], rng, ops);
    switch (kind) {
    case 0: fc->read_error_at = reads; break;
    case 1: fc->write_error_at = writes; break;
    case 2: fc->write_error_at = writes; fc->write_errno = ENOSPC; break;
    case 3: fc->sync_error_at = syncs; break;
    case 4: fc->short_read_at = reads; break;
    default: fc->short_write_at = writes; break;
    }
}

int ct_cycle_ioerror(ct_chain *chain, ct_cycle *cycle)
{
    common_rng rng;
    common_rng_seed(&rng, cycle->seed);
    uint64_t op_budget = 30 + common_rng_below(&rng, 170);
    uint32_t kind = (uint32_t)common_rng_below(&rng, COMMON_ARRAY_COUNT(ioerror_names));
    pager_fault_config fc = {.seed = cycle->seed, .tear = 1};
    ioerror_config(&fc, kind, op_budget * chain->thread_count, &rng);
    pager_fault *fault = NULL;
    int rc = pager_fault_create(&fc, &fault);
    if (rc != ALEXDB_OK) return rc;
    alexdb *db = NULL;
    ct_workload w;
    memset(&w, 0, sizeof(w));
    rc = run_on(chain, cycle, fault, op_budget, kind == 0 || kind == 4, &db, &w);
    pager_fault_stats fs;
    pager_fault_stats_get(fault, &fs);
    bool injected = fs.injected_count > 0;
    check_unexplained_failures(cycle, rc, db, &w, injected);
    /* The sticky rule: after a failed write or sync nothing more is acknowledged. */
    bool write_fault = injected && kind >= 1 && kind <= 3;
    if (db != NULL && write_fault && atomic_load(&w.write_errors) == 0 && alexdb_checkpoint(db) == ALEXDB_OK) {
        ct_cycle_problem(cycle, "an injected %s was absorbed: no write failed and the handle still checkpoints",
                         ioerror_names[kind]);
    }
    if (!injected && atomic_load(&w.write_errors) == 0) {
        uint64_t ops = op_budget * chain->thread_count;
        io_rate_learn(&ioerror_rates[0], fs.read_count, ops);
        io_rate_learn(&ioerror_rates[1], fs.write_count, ops);
        io_rate_learn(&ioerror_rates[2], fs.sync_count, ops);
    }
    if (pager_fault_powercut(fault) != ALEXDB_OK) ct_cycle_problem(cycle, "powercut: %s", alexdb_errmsg());
    if (db != NULL) (void)alexdb_close(db);
    pager_fault_destroy(fault);
    chain->run->injected_faults += fs.injected_count;
    cycle->acked = atomic_load(&chain->exp.hdr->acked_count);
    snprintf(cycle->detail, sizeof(cycle->detail), "%s%s%s errors=%" PRIu64, ioerror_names[kind],
             injected ? "" : "(not reached)", rc != ALEXDB_OK ? " open-failed" : "",
             db != NULL ? atomic_load(&w.write_errors) : 0);
    return ct_recover_and_verify(chain, cycle);
}
