/*
 * wal_int.h: wal/'s private structures and the seams between its files. Only the .c
 * files of wal/ (and wal/'s own tests) include this.
 *
 *   record.c    encode / parse / verify one record (docs/FORMAT.md 9.3)
 *   segment.c   segment names, the header page, listing, create / preallocate / remove,
 *               wal_release_before (FORMAT.md 9.1, 9.2)
 *   writer.c    the append buffers, group commit (leader/follower), the sync thread,
 *               wal_append / wal_sync_to / wal_close
 *   recovery.c  wal_open: check the segments, replay, torn tail versus corruption
 *               (FORMAT.md 9.4)
 *
 * Invariants W1..W12 are in wal/README.md; code cites them by number.
 */
#ifndef WAL_INT_H
#define WAL_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "wal.h"

/* ---- Layout (docs/FORMAT.md 9) ------------------------------------------------ */

#define WAL_BLOCK_SIZE PAGER_PAGE_SIZE       /* writes are whole, aligned blocks */
#define WAL_RECORDS_OFFSET PAGER_PAGE_SIZE   /* page 0 is the segment header */
#define WAL_RECORD_ALIGN 8u
#define WAL_RECORD_HEADER_SIZE 32u

/* Record header field offsets (FORMAT.md 9.3). */
#define WAL_REC_CHECKSUM 0u
#define WAL_REC_LSN 8u
#define WAL_REC_GROUP_FIRST_LSN 16u
#define WAL_REC_SIZE 24u
#define WAL_REC_TYPE 28u
#define WAL_REC_FLAGS 29u
#define WAL_REC_RESERVED 30u

/* Segment header body field offsets (FORMAT.md 9.2). */
#define WAL_SEG_IDENT 32u
#define WAL_SEG_DB_ID 40u
#define WAL_SEG_FIRST_LSN 48u
#define WAL_SEG_SEGMENT_SIZE 56u
#define WAL_SEG_BLOCK_SIZE 64u
#define WAL_SEG_RESERVED 68u
#define WAL_SEG_BODY_END 72u
#define WAL_SEG_IDENT_BYTES "alexwal\0"

/* "wal-" + 16 hex digits + ".log" and its NUL. */
#define WAL_SEGMENT_NAME_SIZE 25u
#define WAL_SEGMENT_SUFFIX ".log"
#define WAL_SEGMENT_TMP_SUFFIX ".tmp"

/* ---- Sizes and bounds -------------------------------------------------------- */

/* A segment_size below this is ALEXDB_INVALID: the header page plus one block. */
#define WAL_SEGMENT_SIZE_MIN (2u * WAL_BLOCK_SIZE)
/* A segment grows by zero-filled chunks of this size, each synced before records use it. */
#define WAL_PREALLOC_CHUNK_SIZE (8u << 20)
/* Each of the two append buffers; an append that does not fit writes the buffer out first. */
#define WAL_BUFFER_SIZE (4u << 20)
/* Recovery reads segments in requests of this size. */
#define WAL_READ_SIZE (4u << 20)
/* Groups one leader writes in a row while others wait, before it hands over (W3). */
#define WAL_LEADER_GROUP_COUNT_MAX 8u
/*
 * How long a committer whose record is not yet durable yields the CPU, looking between
 * yields, before it sleeps on the futex word (README "Yielding before sleeping"; RocksDB's
 * write_thread_max_yield_usec has the same default).
 */
#define WAL_YIELD_NS 100000u
/* Segments one buffer's records may reach (a segment switch starts a new run). */
#define WAL_RUN_COUNT_MAX 8u
/* Segments in a directory wal_open accepts (a bound on listing, W12). */
#define WAL_SEGMENT_COUNT_MAX (1u << 20)
/* The largest framed record: header, the largest payload, padding. */
#define WAL_FRAMED_SIZE_MAX (WAL_RECORD_HEADER_SIZE + (uint64_t)WAL_RECORD_SIZE_MAX)

_Static_assert(WAL_RECORD_SIZE_MAX % WAL_RECORD_ALIGN == 0, "max payload is aligned");
_Static_assert(WAL_BUFFER_SIZE % WAL_BLOCK_SIZE == 0, "buffers are whole blocks");
_Static_assert(WAL_READ_SIZE % WAL_BLOCK_SIZE == 0, "reads are whole blocks");
_Static_assert(WAL_PREALLOC_CHUNK_SIZE % WAL_BLOCK_SIZE == 0, "chunks are whole blocks");
_Static_assert(WAL_SEG_BODY_END <= PAGER_PAGE_SIZE, "the segment header fits its page");

/* The planted bug (README "The check that can fail"): skips the group fdatasync. Tests only. */
extern bool wal_test_skip_sync;

/* ---- record.c ---------------------------------------------------------------- */

typedef enum wal_record_status {
    WAL_RECORD_VALID = 0,
    WAL_RECORD_ZERO = 1, /* the header is all zero: where the log ends */
    WAL_RECORD_BAD = 2,  /* framing or checksum: *why_out says which */
} wal_record_status;

/* A decoded record; payload points into the bytes it was decoded from. */
typedef struct wal_record {
    uint64_t lsn;
    uint64_t group_first_lsn;
    uint32_t size;
    uint8_t type;
    uint64_t framed_size; /* header + payload + padding */
    const uint8_t *payload;
} wal_record;

/* Header, payload and padding to a multiple of 8. */
uint64_t wal_record_framed_size(uint64_t payload_size);

/*
 * Writes one record, parts back to back as its payload (payload_size bytes in all),
 * and its checksum, at dst (framed_size bytes, 8-aligned). Pair-asserts that the record
 * parses and verifies.
 */
void wal_record_encode(uint8_t *dst, uint64_t lsn, uint64_t group_first_lsn, uint8_t type,
                       const wal_part *parts, uint32_t part_count, uint32_t payload_size);

/*
 * Parses the 32-byte header at src: VALID (rec filled, framed_size known), ZERO, or
 * BAD with *why_out. Framing only; the checksum needs the whole record (verify).
 */
wal_record_status wal_record_parse(const uint8_t *src, wal_record *rec, const char **why_out);

/*
 * The whole record (rec->framed_size bytes at src, parsed): checksum and zero padding.
 * Sets rec->payload to point into src.
 */
wal_record_status wal_record_verify(const uint8_t *src, wal_record *rec, const char **why_out);

/* ---- segment.c --------------------------------------------------------------- */

/* The segments on disk, oldest first: the first LSN of each (its name). */
typedef struct wal_segment_list {
    uint64_t *first_lsns;
    uint32_t count;
    uint32_t capacity;
} wal_segment_list;

void wal_segment_name(uint64_t first_lsn, const char *suffix, char *name_out);
/* Parses "wal-<16 lowercase hex>" + suffix exactly; false for any other name. */
bool wal_segment_parse_name(const char *name, const char *suffix, uint64_t *first_lsn_out);
/* dir/name of the segment; the caller frees it. NULL when out of memory. */
char *wal_segment_path(const char *dir, uint64_t first_lsn, const char *suffix);

void wal_segment_header_encode(uint8_t *page, uint64_t db_id, uint64_t first_lsn,
                               uint64_t segment_size);
/* Page 0 of a segment read from path: FORMAT.md 9.2's valid-iff, CORRUPT naming path. */
int wal_segment_header_check(const char *path, const uint8_t *page, uint64_t db_id,
                             uint64_t first_lsn) COMMON_WUR;

/*
 * Lists dir's segments in LSN order into list (emptied first). Leftover temporary
 * segments of an interrupted creation are removed unless read_only (then ignored).
 */
int wal_segment_list_load(const pager_env *env, const char *dir, bool read_only,
                          wal_segment_list *list) COMMON_WUR;
int wal_segment_list_push(wal_segment_list *list, uint64_t first_lsn) COMMON_WUR;
void wal_segment_list_free(wal_segment_list *list);

/*
 * Creates the segment first_lsn durably (W10): a temporary file gets its header page
 * and prealloc_size bytes of zeros in all, is synced and renamed into place, and the
 * directory is synced. Returns the segment opened for writing.
 */
int wal_segment_create(const pager_env *env, const char *dir, uint64_t db_id, uint64_t first_lsn,
                       uint64_t segment_size, uint64_t prealloc_size,
                       pager_file **file_out) COMMON_WUR;
int wal_segment_open(const pager_env *env, const char *dir, uint64_t first_lsn, bool read_only,
                     pager_file **file_out) COMMON_WUR;
/* Zero-fills [from, to) of a segment and syncs it, so later fdatasyncs change no metadata. */
int wal_segment_preallocate(pager_file *file, uint64_t from, uint64_t to) COMMON_WUR;
/* Removes the segment's file (the caller syncs the directory). */
int wal_segment_remove(const pager_env *env, const char *dir, uint64_t first_lsn) COMMON_WUR;

/* ---- writer.c ---------------------------------------------------------------- */

/*
 * A run: bytes of one buffer bound for one segment, written with one write and synced
 * with one fdatasync (a "group", W5). It begins with the carried partial block, if any.
 */
typedef struct wal_run {
    uint64_t segment_first_lsn;
    uint64_t segment_size;  /* a new segment is created for at least this size */
    uint64_t file_offset;   /* block-aligned: where data[buf_offset] goes */
    size_t buf_offset;      /* block-aligned */
    size_t size;            /* bytes from buf_offset: carried prefix + new records */
    uint64_t first_lsn;     /* the run's first new record (its group_first_lsn); 0: none */
    uint64_t last_lsn;
    bool new_segment;       /* the segment must be created before the write */
} wal_run;

typedef struct wal_buffer {
    uint8_t *data;          /* block-aligned; zero from used to capacity (W4) */
    size_t capacity;
    size_t used;
    uint32_t run_count;     /* >= 1 while it is the fill buffer */
    wal_run runs[WAL_RUN_COUNT_MAX];
    uint64_t first_lsn;     /* first new record; 0: none */
    uint64_t last_lsn;
} wal_buffer;

/* Where recovery left the log: what the writer starts from. */
typedef struct wal_start {
    uint64_t next_lsn;       /* the first LSN to assign */
    bool new_segment;        /* next_lsn must start a segment (the last one ends before it) */
    pager_file *file;        /* the last segment, open for writing (NULL with new_segment) */
    uint64_t segment_first_lsn;
    uint64_t end_offset;     /* where its next record goes */
    uint64_t prealloc_size;  /* its size: zero-filled up to here */
    uint8_t tail[WAL_BLOCK_SIZE]; /* its bytes [end_offset rounded down, end_offset) */
} wal_start;

struct wal {
    char *dir;
    wal_config config;

    /*
     * lock guards the buffers, the append counters, the sticky message and every change
     * of the fields below; the atomics among them may be read without it (W6).
     */
    pthread_mutex_t lock;
    wal_buffer buffers[2];
    wal_buffer *fill;           /* appends go here; the other is the leader's (W3) */
    _Atomic uint64_t last_lsn;  /* W1 */
    _Atomic bool leader_active; /* W3 */
    _Atomic int sticky_error;   /* W8 */
    char sticky_message[COMMON_ERRMSG_SIZE_MAX];
    _Atomic uint64_t durable_lsn;   /* W2 */
    _Atomic uint64_t wait_lsn_max;  /* the largest LSN a committer has waited for */
    /*
     * Waking (W6): wake_seq is bumped after every group; sleepers wait on it (futex)
     * with the bit of the parity of the group they wait for, so a group wakes only its
     * own committers. inflight is the group being written: its parity in bit 63, its
     * last LSN below.
     */
    _Atomic uint32_t wake_seq;
    _Atomic uint64_t inflight;
    _Atomic uint32_t sleeper_counts[2];   /* by parity */
    _Atomic bool herald_pending[2];       /* the next sleeper out of that parity wakes the rest */

    /* Leader-only: touched by the thread that holds leader_active (W3). */
    pager_file *active_file;
    uint64_t active_first_lsn;
    uint64_t active_prealloc_size;
    uint64_t group_seq;         /* groups started, by every leader */

    /* segments_lock guards the list: the leader adds, wal_release_before removes (W9). */
    pthread_mutex_t segments_lock;
    wal_segment_list segments;

    /* The sync thread (sync_interval_ms > 0). */
    pthread_t sync_thread;
    bool sync_thread_running;
    bool stopping;              /* under lock */
    pthread_cond_t stop_cond;

    /* Counters: under lock, except where a leader adds (atomics). */
    uint64_t append_count;
    uint64_t append_bytes;
    _Atomic uint64_t commit_count;
    _Atomic uint64_t sync_count;
    _Atomic uint64_t group_count;
    uint64_t replay_count;
    uint64_t replay_bytes;
};

/* Sets up the buffers, the write position and the sync thread from recovery's result. */
int wal_writer_start(wal *w, wal_start *start) COMMON_WUR;
/* Frees what wal_writer_start made (after the sync thread stopped). */
void wal_writer_free(wal *w);
/* Frees the handle and everything it holds; no I/O. */
void wal_destroy(wal *w);

/* Messages through config.env.log. */
void wal_log(const wal *w, int level, const char *fmt, ...) COMMON_PRINTF(3, 4);

#endif /* WAL_INT_H */
