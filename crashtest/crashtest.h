/*
 * crashtest.h: what the files of alexdb-crashtest share. The driver runs a random
 * multi-threaded workload, crashes it (SIGKILL, a simulated power cut, injected I/O
 * errors) or damages a closed database, reopens it and checks that nothing
 * acknowledged was lost (crashtest/README.md: the modes and invariants C1..C9).
 *
 *   expected.c  the expected-state file (mmap'd, survives the kill): per key its
 *               version history, pending operation and the global acknowledgement order
 *   workload.c  the workload threads: puts 0 B..1 MiB, deletes, batches, gets, scans,
 *               syncs, checkpoints; each acknowledged operation recorded (C1, C2)
 *   verify.c    reopen-time verification (C3..C8) and resolving the expected state
 *   modes.c     one cycle of kill, powercut, ioerror
 *   corrupt.c   one cycle of corrupt
 *   util.c      files, images, hashing of values
 *   main.c      options, the schedule of cycles, the report
 *
 * This is an internal test driver: it includes api_int.h (api_open with an explicit
 * pager_env, api_abandon), pager.h (the fault-injecting backend) and wal_int.h (the
 * planted bug wal_test_skip_sync), which no program outside the library may do.
 */
#ifndef CRASHTEST_H
#define CRASHTEST_H

#include <pthread.h>
#include <stdatomic.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alexdb.h"
#include "api_int.h"
#include "common.h"
#include "pager.h"

/* ---- The expected state (expected.c) ------------------------------------------ */

/* Operations remembered per key: a ring of CT_HISTORY slots, CT_HISTORY - 1 visible (C2). */
#define CT_HISTORY 8u
#define CT_VALUE_SIZE_MAX (1u << 20)
#define CT_BATCH_COUNT_MAX 8u
#define CT_THREAD_COUNT_MAX 8u
#define CT_EXPECTED_MAGIC UINT64_C(0x4354455850454354) /* "TCEPXETC" */

enum ct_op_flag {
    CT_OP_VALID = 1u,  /* the slot holds an operation */
    CT_OP_DELETE = 2u, /* the key is absent after it */
    CT_OP_SYNCED = 4u, /* acknowledged by a sync handle: durable when acknowledged */
};

/*
 * One operation on one key. start_seq: the acknowledgement counter when it was issued;
 * ack_seq: its own place in the acknowledgement order (C1). batch_id: nonzero for a
 * batch, shared by every key of that batch.
 */
typedef struct ct_op {
    uint32_t version;
    uint32_t flags;
    uint64_t start_seq;
    uint64_t ack_seq;
    uint64_t batch_id;
} ct_op;

typedef struct ct_key {
    uint32_t next_version;  /* versions of a key are never reused */
    uint32_t reserved;
    uint64_t hist_next;     /* operations appended: slot hist_next % CT_HISTORY is free */
    ct_op hist[CT_HISTORY];
    ct_op pending;          /* issued, not (yet) acknowledged; flags 0 if none */
} ct_key;

typedef struct ct_header {
    uint64_t magic;
    uint32_t key_count;
    uint32_t key_mode;      /* 0: strided keys, 1: hashed keys */
    uint64_t key_base;
    _Atomic uint64_t ack_counter;  /* next ack_seq (C1) */
    _Atomic uint64_t durable_ack;  /* every op with ack_seq below it is durable (C3) */
    _Atomic uint64_t batch_counter;
    _Atomic uint64_t acked_count;  /* operations acknowledged this cycle */
    _Atomic uint64_t live_wrong;   /* wrong results seen by the workload itself */
    _Atomic uint32_t child_ready;  /* kill mode: the child opened the database */
    _Atomic int32_t child_rc;
    _Atomic uint64_t child_io;     /* kill mode, seeded: the I/Os of a child that ran out */
    char message[512];             /* the first live problem */
} ct_header;

typedef struct ct_expected {
    int fd;
    size_t map_size;
    ct_header *hdr;
    ct_key *keys;
    uint64_t key_mul_inverse;
} ct_expected;

int ct_expected_create(const char *path, uint32_t key_count, uint32_t key_mode, uint64_t key_base,
                       ct_expected *exp) COMMON_WUR;
void ct_expected_close(ct_expected *exp);
uint64_t ct_key_of(const ct_expected *exp, uint32_t index);
/* The key's index, or -1 if key is not one of the workload's. */
int64_t ct_index_of(const ct_expected *exp, uint64_t key);
/* Sets key index to one durable operation (version 0 with delete: never written). */
void ct_expected_set_base(ct_expected *exp, uint32_t index, uint32_t version, bool deleted);
/* Every key's base is its current newest op, made durable; counters restart (C9). */
void ct_expected_reset_order(ct_expected *exp);
void ct_pending_begin(ct_expected *exp, uint32_t index, const ct_op *op);
void ct_pending_clear(ct_expected *exp, uint32_t index);
void ct_history_append(ct_expected *exp, uint32_t index, const ct_op *op);
/* The visible history, newest first; returns the count (>= 1). */
uint32_t ct_history_get(const ct_expected *exp, uint32_t index, ct_op *out);
ct_op ct_history_newest(const ct_expected *exp, uint32_t index);
bool ct_op_durable(const ct_expected *exp, const ct_op *op);
void ct_live_problem(ct_expected *exp, const char *fmt, ...) COMMON_PRINTF(2, 3);

/* ---- Values (util.c) ------------------------------------------------------------ */

uint64_t ct_mix(uint64_t x);
/* The size and bytes of version v of key: sizes 0 B .. 1 MiB, most of them small. */
size_t ct_value_size(uint64_t key, uint32_t version);
void ct_value_fill(uint64_t key, uint32_t version, uint8_t *buf, size_t size);
bool ct_value_equal(uint64_t key, uint32_t version, const uint8_t *got, size_t got_size);

/* ---- The workload (workload.c) --------------------------------------------------- */

typedef struct ct_workload {
    alexdb *db;
    ct_expected *exp;
    uint32_t thread_count;
    int sync;                  /* the handle's options.sync */
    uint64_t seed;
    uint64_t op_budget;        /* per thread; 0: until stop */
    bool tolerate_read_errors; /* ioerror: a read may fail with an injected error */
    const pager_fault *fault;  /* powercut: reads may fail once its power is cut */
    bool seeded;               /* the seeded schedule (README "Schedules"); db is manual */
    _Atomic int stop;
    _Atomic uint64_t write_errors;
    _Atomic int first_error;
    /* The seeded schedule: whose turn it is, drawn from turn_rng among the running. */
    pthread_mutex_t turn_lock;
    pthread_cond_t turn_cond;
    uint32_t turn;             /* a thread number; CT_TURN_NONE once all are done */
    uint32_t running;          /* a bit per thread still running */
    common_rng turn_rng;       /* used only by the thread whose turn it is */
} ct_workload;

#define CT_TURN_NONE UINT32_MAX

/*
 * Runs the workload's threads to their budget, a stop, or each one's first failed write.
 * Seeded: one operation at a time, in an order drawn from seed, with the handle's
 * background step (api_background_step) taken between operations one turn in eight.
 */
int ct_workload_run(ct_workload *w) COMMON_WUR;

/* ---- Verification (verify.c) ----------------------------------------------------- */

enum ct_verify_flag {
    CT_VERIFY_ERRORS_OK = 1u,    /* corrupt: ALEXDB_CORRUPT from a read is a clean answer */
    CT_VERIFY_NO_DURABILITY = 2u /* corrupt (log damaged): only the prefix rule holds */
};

typedef struct ct_verify_result {
    uint64_t keys;
    uint64_t present;
    uint64_t lost;            /* durable acknowledged operations missing (C3) */
    uint64_t resurrected;     /* an older version or a deleted key came back (C4) */
    uint64_t wrong;           /* a value that is no version of its key, a foreign key (C5) */
    uint64_t holes;           /* the recovered state is not a prefix (C6) */
    uint64_t torn_batches;    /* a batch half there (C7) */
    uint64_t read_errors;     /* a read that failed with an error not allowed */
    uint64_t clean_errors;    /* corrupt: reads answered ALEXDB_CORRUPT */
    uint64_t check_failed;    /* alexdb_check or the scan disagreed (C8) */
    uint64_t pending_present;
    uint64_t pending_absent;
    uint64_t unsynced_dropped; /* acknowledged, never made durable, legitimately gone */
    uint64_t digest;           /* of every key's found version: equal runs, equal digests */
    char problem[512];         /* the first violation */
} ct_verify_result;

uint64_t ct_verify_violations(const ct_verify_result *r);
/*
 * Checks db against exp (C3..C8). observed_out (key_count entries, may be NULL) gets the
 * op each key was found at. Returns ALEXDB_OK, or ALEXDB_NOMEM.
 */
int ct_verify(alexdb *db, ct_expected *exp, unsigned flags, ct_verify_result *res,
              ct_op *observed_out) COMMON_WUR;
/* After a clean verification: what was found becomes the new durable base (C9). */
void ct_expected_resolve(ct_expected *exp, const ct_op *observed);

/* ---- Cycles (modes.c, corrupt.c) ---------------------------------------------------- */

typedef enum ct_mode { CT_MODE_KILL = 0, CT_MODE_POWERCUT, CT_MODE_IOERROR, CT_MODE_CORRUPT, CT_MODE_COUNT } ct_mode;

/* The run: options and totals. */
typedef struct ct_run {
    uint64_t seed;
    char *work_dir;            /* this run's directory */
    uint32_t thread_max;
    bool keep_going;
    bool verbose;
    bool seeded;               /* the seeded schedule (the default); false: free */
    uint64_t recovery_io_guess; /* I/Os of the last recovery: where a recovery cut may land */
    /* Totals. */
    uint64_t cycles[CT_MODE_COUNT];
    uint64_t acked;
    uint64_t lost, resurrected, wrong, holes, torn_batches, read_errors, check_failed, other;
    uint64_t unsynced_dropped, pending_present, pending_absent, clean_errors;
    uint64_t recovery_cuts, injected_faults, violation_cycles;
    uint64_t *recovery_ns;
    size_t recovery_count, recovery_capacity;
} ct_run;

/* A chain: one database that lives through several cycles of one mode. */
typedef struct ct_chain {
    ct_run *run;
    ct_mode mode;
    uint64_t seed;
    char *db_dir;
    char *image_dir;           /* the image as the crash left it, before recovery */
    char *exp_path;
    ct_expected exp;
    uint32_t thread_count;
    int sync;
    size_t cache_bytes;
    unsigned sync_interval_ms;
} ct_chain;

/* One line's worth of a cycle. */
typedef struct ct_cycle {
    uint64_t number;
    uint64_t seed;
    uint64_t acked;
    uint64_t recovery_ns;
    uint64_t time_ns;
    char detail[320];
    ct_verify_result verify;
    uint64_t other_violations;  /* recovery refused, a child crashed or hung, ... */
    char problem[512];
} ct_cycle;

int ct_chain_start(ct_run *run, ct_chain *chain, ct_mode mode, uint64_t seed) COMMON_WUR;
void ct_chain_end(ct_chain *chain);
int ct_cycle_kill(ct_chain *chain, ct_cycle *cycle) COMMON_WUR;
int ct_cycle_powercut(ct_chain *chain, ct_cycle *cycle) COMMON_WUR;
int ct_cycle_ioerror(ct_chain *chain, ct_cycle *cycle) COMMON_WUR;
int ct_cycle_corrupt(ct_chain *chain, ct_cycle *cycle) COMMON_WUR;

/* Opens the chain's database on the fault domain (NULL: the default backend), manual
 * under the seeded schedule. */
int ct_open(ct_chain *chain, pager_fault *fault, int sync, alexdb **db_out) COMMON_WUR;
/* Reopens cleanly, verifies, resolves; on a violation the image is saved by the caller. */
int ct_recover_and_verify(ct_chain *chain, ct_cycle *cycle) COMMON_WUR;
void ct_cycle_problem(ct_cycle *cycle, const char *fmt, ...) COMMON_PRINTF(2, 3);

/* ---- Files (util.c) ------------------------------------------------------------------ */

char *ct_path(const char *dir, const char *name);
int ct_mkdir(const char *path);
void ct_rmrf(const char *path);
/* Copies the regular files of dir src into dst (created, emptied first). */
int ct_copy_dir(const char *src, const char *dst);
int ct_file_size(const char *path, uint64_t *size_out);
const char *ct_mode_name(ct_mode mode);

#endif /* CRASHTEST_H */
