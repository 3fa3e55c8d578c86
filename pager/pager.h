/*
 * pager.h: what other modules may call in pager/, the only module that talks to the
 * device. Three layers, bottom up:
 *
 *   1. Pages (page.c): the 32-byte self-checking header every 4 KiB page carries.
 *   2. Files (file.c + io_*.c): batched reads and writes through one of three I/O
 *      backends behind a table of function pointers: io_uring (default), pread/pwrite
 *      (automatic fallback), and a fault-injecting one for tests and crash runs.
 *      The WAL writes its segments through this layer too.
 *   3. The buffer pool (pool.c, writeback.c, pager.c): 4 KiB frames, a page table,
 *      pin/unpin, batched asynchronous reads, ordered and merged write-back,
 *      a double-buffered superblock.
 *
 * Design, states and numbered invariants: pager/README.md. Bytes: docs/FORMAT.md 1-2.
 */
#ifndef PAGER_H
#define PAGER_H

#include "common.h"

/* ---- 1. Pages ------------------------------------------------------------------ */

#define PAGER_PAGE_SIZE 4096u
#define PAGER_SECTOR_SIZE 512u
#define PAGER_HEADER_SIZE 32u
#define PAGER_BODY_SIZE (PAGER_PAGE_SIZE - PAGER_HEADER_SIZE)
#define PAGER_PAGE_MAGIC 0x42445841u /* bytes "AXDB" */
#define PAGER_FORMAT_VERSION 1u
#define PAGER_PAGE_NO_NONE UINT64_MAX
/* A file holds at most 2^32 pages (16 TiB; docs/FORMAT.md 2). */
#define PAGER_PAGE_COUNT_MAX (UINT64_C(1) << 32)

/* Header field offsets (docs/FORMAT.md 1.2). */
#define PAGER_HDR_CHECKSUM 0u
#define PAGER_HDR_MAGIC 8u
#define PAGER_HDR_VERSION 12u
#define PAGER_HDR_KIND 13u
#define PAGER_HDR_FLAGS 14u
#define PAGER_HDR_PAGE_NO 16u
#define PAGER_HDR_LSN 24u

/*
 * The page-kind registry: one byte per page says what it is. Kinds are a file-wide
 * namespace, so every module's kinds are listed here.
 * Adding a kind? Also: pager_kind_name() in page.c, docs/FORMAT.md 1.3.
 */
enum pager_kind {
    PAGER_KIND_INVALID = 0,    /* never written: a zeroed page is never valid */
    PAGER_KIND_SUPERBLOCK = 1, /* pages 0 and 1 */
    PAGER_KIND_RAW = 2,        /* opaque body: tests and the pager benchmark */
    PAGER_KIND_LEAF = 3,       /* alex/: a row-format leaf */
    PAGER_KIND_OVERFLOW = 4,   /* alex/: out-of-line value bytes */
    PAGER_KIND_INNER = 5,      /* alex/: persisted inner index */
    PAGER_KIND_FREELIST = 6,   /* free page runs */
    PAGER_KIND_COLUMNAR = 7,   /* columnar/: a column-format leaf */
    PAGER_KIND_WAL_SEGMENT = 8, /* wal/: the header page of a log segment */
    PAGER_KIND_DWB = 9,        /* the header page of the double-write file */
    PAGER_KIND_COUNT_MAX = 16,
};

/* Zeroes the page and writes magic, version and kind. page_no/lsn/checksum at seal. */
void pager_page_init(uint8_t *page, uint8_t kind);

/* Stamps page_no and lsn and computes the checksum; the page is then valid on disk. */
void pager_page_seal(uint8_t *page, uint64_t page_no, uint64_t lsn);

/*
 * Validates a page read from `path` at page_no: checksum, magic, version, kind and its
 * own page number. Returns ALEXDB_OK, ALEXDB_CORRUPT (message names path and offset) or
 * ALEXDB_VERSION. The same checker is asserted after every seal (pair assertion).
 */
int pager_page_check(const char *path, const uint8_t *page, uint64_t page_no) COMMON_WUR;

uint8_t pager_page_kind(const uint8_t *page);
uint64_t pager_page_lsn(const uint8_t *page);
uint64_t pager_page_no(const uint8_t *page);
const char *pager_kind_name(uint8_t kind);

/* ---- 2. Files and I/O backends ----------------------------------------------- */

typedef enum pager_backend {
    PAGER_BACKEND_AUTO = 0, /* io_uring, falling back to posix when unavailable */
    PAGER_BACKEND_URING,    /* io_uring only; fails with ALEXDB_NOTSUP if unavailable */
    PAGER_BACKEND_POSIX,    /* pread/pwrite/fdatasync */
    PAGER_BACKEND_FAULT,    /* posix + injected faults from a pager_fault domain */
} pager_backend;

typedef enum pager_log_level { PAGER_LOG_INFO = 0, PAGER_LOG_WARN = 1 } pager_log_level;
typedef void (*pager_log_fn)(void *ctx, int level, const char *message);

typedef struct pager_fault pager_fault;

/* How files are opened. Copied at open; zero-initialised means "defaults". */
typedef struct pager_env {
    pager_backend backend;
    pager_fault *fault; /* required iff backend == PAGER_BACKEND_FAULT */
    int buffered;       /* 1: do not ask for O_DIRECT */
    pager_log_fn log;   /* NULL: messages go nowhere */
    void *log_ctx;
    /* Test hooks: act as if io_uring setup / O_DIRECT open failed with this errno. */
    int test_uring_errno;
    int test_direct_errno;
} pager_env;

#define PAGER_OPEN_CREATE 1u
#define PAGER_OPEN_READONLY 2u

typedef enum pager_io_op { PAGER_IO_READ = 1, PAGER_IO_WRITE = 2 } pager_io_op;

/*
 * One read or write. buf, offset and size are PAGER_SECTOR_SIZE-aligned (4 KiB for
 * pages). result is set on completion: bytes transferred, or -errno.
 */
typedef struct pager_io_req {
    uint8_t *buf;
    uint64_t offset;
    uint32_t size;
    uint8_t op;
    int32_t result;
    /*
     * Optional: called once, with ctx, as soon as this request has transferred all its
     * bytes, possibly while others of the batch are still in flight; always on the
     * thread inside pager_file_rw(). Not called for a request that fails.
     */
    void (*on_done)(void *ctx);
    void *ctx;
    uint8_t notified; /* set by whoever called on_done; callers leave it 0 */
} pager_io_req;

#define PAGER_IO_BATCH_MAX 256u /* requests in one submission; larger batches are chunked */
#define PAGER_IO_RETRY_MAX 16u  /* resubmissions of a short or EAGAIN request */

typedef struct pager_file pager_file;

/* Per-file I/O counters, read with relaxed atomics. */
typedef struct pager_io_stats {
    uint64_t read_count;  /* read requests completed */
    uint64_t write_count; /* write requests completed */
    uint64_t sync_count;  /* fdatasyncs completed */
    uint64_t read_bytes;
    uint64_t write_bytes;
    uint64_t submit_count; /* submissions to the backend (one per batch chunk) */
} pager_io_stats;

/* Read requests completed by the calling thread, on every file: a per-thread counter so
 * that a caller can count the device reads one operation made (reads per lookup). */
uint64_t pager_thread_read_count(void);

int pager_file_open(const pager_env *env, const char *path, unsigned flags,
                    pager_file **file_out) COMMON_WUR;
/* Closes the descriptor. Unsynced writes are not made durable by closing. */
void pager_file_close(pager_file *file);

/*
 * Submits every request in one batch (chunked by PAGER_IO_BATCH_MAX) and waits for
 * all of them. Short transfers, EINTR and EAGAIN are resubmitted for the remainder
 * (bounded by PAGER_IO_RETRY_MAX). A read that reaches end of file returns
 * ALEXDB_CORRUPT naming the offset. Returns the first error; each req->result tells.
 * After a failed write the file refuses further writes (sticky, ALEXDB_READONLY).
 * Thread-safe: each thread uses its own ring.
 */
int pager_file_rw(pager_file *file, pager_io_req *reqs, uint32_t count) COMMON_WUR;

/* fdatasync. A failure is sticky: never retried; later writes and syncs are refused. */
int pager_file_sync(pager_file *file) COMMON_WUR;

/*
 * One write request (req->op PAGER_IO_WRITE, aligned as for pager_file_rw), durable when
 * this returns: the effect of pager_file_rw(file, req, 1) then pager_file_sync(file),
 * in one device round trip where the backend can (io_uring: a write with RWF_DSYNC, so
 * one submission and one wait instead of two; the other backends make the two calls).
 * Counts one write and one sync. Returns ALEXDB_OK, ALEXDB_READONLY, or the error of
 * the write or the flush: either is sticky and never retried (a failed RWF_DSYNC write
 * may be a failed flush). Thread-safe as pager_file_rw.
 */
int pager_file_write_durable(pager_file *file, pager_io_req *req) COMMON_WUR;

int pager_file_size(pager_file *file, uint64_t *size_out) COMMON_WUR;
/* Makes [offset, offset+size) exist by writing zeros (not fallocate: see README). */
int pager_file_zero_extend(pager_file *file, uint64_t offset, uint64_t size) COMMON_WUR;
/*
 * Makes [offset, offset+size) exist, reading as zeros, by fallocate where the backend
 * and filesystem can (no data written: the page file's growth), else as
 * pager_file_zero_extend. Durable, like any growth, with the next fdatasync.
 */
int pager_file_allocate(pager_file *file, uint64_t offset, uint64_t size) COMMON_WUR;
int pager_file_truncate(pager_file *file, uint64_t size) COMMON_WUR;

const char *pager_file_path(const pager_file *file);
/* "io_uring", "posix" or "fault": the backend actually in use after any fallback. */
const char *pager_file_backend_name(const pager_file *file);
/* Why the backend fell back ("" if it did not), e.g. "io_uring: EPERM". */
const char *pager_file_fallback_reason(const pager_file *file);
int pager_file_is_direct(const pager_file *file);
void pager_file_stats(const pager_file *file, pager_io_stats *stats_out);
/* The sticky error (ALEXDB_OK if none). */
int pager_file_error(const pager_file *file);

/*
 * Directories, for the WAL's segment files (the page file needs none of these). Each
 * takes the env the files are opened with (NULL: defaults). With the fault backend a
 * domain whose power is cut fails every call with ALEXDB_IO, as its files do; a
 * directory change is not logged by the domain (it is durable at once and never
 * undone by a cut), and removing or renaming a path drops the domain's unsynced writes
 * to it, so sync a file before renaming it.
 */

/* Called once per entry of a directory ("." and ".." excluded); nonzero stops the walk. */
typedef int (*pager_dir_fn)(void *ctx, const char *name);

/* Walks dir's entries in no particular order. Returns ALEXDB_OK, fn's nonzero result, or an error. */
int pager_dir_list(const pager_env *env, const char *dir, pager_dir_fn fn, void *ctx) COMMON_WUR;
/* fsync of the directory: makes creations, renames and removals in it durable. */
int pager_dir_sync(const pager_env *env, const char *dir) COMMON_WUR;
/* Unlinks path (a missing path is an error: ALEXDB_IO). Durable after pager_dir_sync. */
int pager_file_remove(const pager_env *env, const char *path) COMMON_WUR;
/* rename(2): replaces to atomically. Durable after pager_dir_sync. */
int pager_file_rename(const pager_env *env, const char *from, const char *to) COMMON_WUR;

/* ---- 2b. The fault-injecting backend's domain -------------------------------- */

/*
 * A fault domain is a simulated machine: every file opened with it shares its I/O
 * counters and its power supply. Counters are 1-based and domain-wide; 0 = never.
 */
typedef struct pager_fault_config {
    uint64_t seed;            /* drives every choice the power cut makes */
    uint64_t read_error_at;   /* the Nth read fails with read_errno */
    uint64_t write_error_at;  /* the Nth write fails with write_errno */
    uint64_t sync_error_at;   /* the Nth fdatasync fails with sync_errno */
    uint64_t short_read_at;   /* the Nth read transfers only part of its bytes */
    uint64_t short_write_at;  /* the Nth write transfers only part of its bytes */
    uint64_t powercut_at;     /* the Nth I/O of any kind cuts the power instead */
    uint64_t kill_at;         /* the Nth I/O of any kind SIGKILLs the process instead: a
                               * process crash, every write before it stays as written */
    int read_errno;           /* default EIO */
    int write_errno;          /* default EIO; ENOSPC simulates a full disk */
    int sync_errno;           /* default EIO */
    int tear;                 /* 1: at a cut, unsynced writes may tear at 512 B */
} pager_fault_config;

int pager_fault_create(const pager_fault_config *config, pager_fault **fault_out) COMMON_WUR;
/* Destroys the domain; its files must be closed. Unsynced writes stay as written. */
void pager_fault_destroy(pager_fault *fault);

/*
 * Cuts the power now. For every file of the domain, each write not covered by a
 * completed fdatasync of that file is kept, dropped or (with tear) torn at 512-byte
 * sectors, each choice drawn from the seed; the files on disk are left in that state.
 * Every later I/O in the domain fails with EIO. Returns ALEXDB_OK or ALEXDB_IO if the
 * image could not be rewritten.
 */
int pager_fault_powercut(pager_fault *fault) COMMON_WUR;
bool pager_fault_is_cut(const pager_fault *fault);

typedef struct pager_fault_stats {
    uint64_t io_count;    /* every I/O seen (reads + writes + syncs) */
    uint64_t read_count;
    uint64_t write_count;
    uint64_t sync_count;
    uint64_t injected_count;  /* faults injected so far */
    uint64_t cut_kept_count;  /* at the cut: unsynced writes kept whole */
    uint64_t cut_dropped_count;
    uint64_t cut_torn_count;
} pager_fault_stats;

void pager_fault_stats_get(const pager_fault *fault, pager_fault_stats *stats_out);

/* ---- 3. The buffer pool --------------------------------------------------------- */

typedef struct pager pager;
typedef struct pager_frame pager_frame;

#define PAGER_CACHE_SIZE_MIN (64u * PAGER_PAGE_SIZE)
#define PAGER_PIN_BATCH_MAX 256u
#define PAGER_WRITE_RUN_PAGES_MAX 256u /* 1 MiB: the longest merged write-back */
#define PAGER_SUPERBLOCK_PAYLOAD_SIZE_MAX 3968u

/*
 * A check the layer above runs on every page the pool reads from disk, after the
 * header check passed (e.g. a leaf's structure): ALEXDB_OK, or a code such as
 * ALEXDB_CORRUPT that fails the pin. Never called for cache hits.
 */
typedef int (*pager_check_fn)(void *ctx, const char *path, const uint8_t *page, uint64_t page_no);

typedef struct pager_config {
    pager_env env;
    pager_check_fn check_page; /* optional */
    void *check_ctx;
    size_t cache_bytes;   /* rounded down to frames; at least PAGER_CACHE_SIZE_MIN */
    int numa_local;       /* 0 (default): interleave frames over nodes; 1: local node */
    int create;           /* create the file if it is missing or empty */
    int read_only;
    uint32_t hit_prefetch_lines; /* a page's first lines fetched while a cache hit pins it,
                                  * for the reads the caller makes next; default 2 (the
                                  * header), at most PAGER_PAGE_SIZE / 64 */
} pager_config;

void pager_config_init(pager_config *config);

/*
 * Opens (or with create, creates) the page file at path. Returns ALEXDB_OK,
 * ALEXDB_NOTDB (not an alexdb file), ALEXDB_CORRUPT (truncated, both superblocks bad),
 * ALEXDB_VERSION, ALEXDB_IO, ALEXDB_NOMEM, ALEXDB_INVALID.
 */
int pager_open(const char *path, const pager_config *config, pager **pager_out) COMMON_WUR;

/* Releases everything. Does not write dirty pages: call pager_flush() first. */
void pager_close(pager *pager);

/* Pin flags. */
#define PAGER_PIN_SCAN 1u /* a one-off access: enter cold, do not raise usage (README P8) */

/*
 * Pins page_no, reading and verifying it if it is not cached. The frame stays valid
 * and its page resident until pager_unpin(). Returns ALEXDB_OK, ALEXDB_CORRUPT,
 * ALEXDB_VERSION, ALEXDB_IO, ALEXDB_FULL (every frame pinned). Thread-safe.
 */
int pager_pin(pager *pager, uint64_t page_no, unsigned flags, pager_frame **frame_out) COMMON_WUR;

/*
 * Pins count pages (at most PAGER_PIN_BATCH_MAX): every miss goes out in one
 * submission. On success every frames_out[i] is pinned; on failure none is and the
 * first error is returned. Duplicated page numbers are pinned once per occurrence.
 */
int pager_pin_many(pager *pager, const uint64_t *page_nos, uint32_t count, unsigned flags,
                   pager_frame **frames_out) COMMON_WUR;

/*
 * Pins a frame for a page that is being created: nothing is read, the page is
 * initialised with kind and marked dirty. page_no must be below pager_page_count().
 */
int pager_pin_new(pager *pager, uint64_t page_no, uint8_t kind, pager_frame **frame_out) COMMON_WUR;

/*
 * Reads into the cache those of the pages that it does not hold, unpinned, so that pins
 * of them soon after hit: the pages are sorted, and pages at most PAGER_PREFETCH_GAP_PAGES
 * apart are read together, the pages between them included and dropped, in reads of up
 * to PAGER_PREFETCH_RUN_PAGES; PAGER_PREFETCH_BATCH_RUNS reads go out per submission. At
 * most a quarter of the cache's frames are read per call (the lowest page numbers
 * first); page numbers outside the file are skipped. A hit counts neither as a hit nor
 * as a use. Returns ALEXDB_OK or the first error (a page that fails its check is left
 * out of the cache, as after a failed pin). Thread-safe; calls are serialised.
 */
#define PAGER_PREFETCH_GAP_PAGES 8u
#define PAGER_PREFETCH_RUN_PAGES 256u
#define PAGER_PREFETCH_BATCH_RUNS 8u
int pager_prefetch(pager *pager, const uint64_t *page_nos, uint32_t count) COMMON_WUR;
/* The most pages one pager_prefetch reads: a quarter of the frames, at least 1. */
uint32_t pager_prefetch_page_max(const pager *pager);

void pager_unpin(pager *pager, pager_frame *frame);

/*
 * The page was freed by the layer above: its cached copy, if any, is dropped without
 * being written back (after waiting out a write-back in progress on it), so the page can
 * be rewritten with uncached I/O and later pinned. The caller must not hold it pinned. P11.
 */
void pager_discard(pager *pager, uint64_t page_no);

/* The 4 KiB page image. Header bytes belong to the pager; the body is the caller's. */
uint8_t *pager_frame_data(pager_frame *frame);
uint64_t pager_frame_page_no(const pager_frame *frame);

/* Records a change to a pinned frame; lsn is kept as the page's LSN if larger. */
void pager_mark_dirty(pager *pager, pager_frame *frame, uint64_t lsn);

/*
 * Content latches of a pinned frame (README P5): shared to read, exclusive to change.
 * The exclusive latch of a page a begun checkpoint has not copied yet copies it into
 * that checkpoint before it returns (P15), so every change must be made under it (P9).
 */
void pager_latch_shared(pager_frame *frame);
void pager_latch_exclusive(pager_frame *frame);
void pager_unlatch(pager_frame *frame);

/*
 * A read hold: pin and shared latch in one step, for a short read of one page. On a
 * cache hit the hold is the shared latch alone: a latched frame is never evicted or
 * dropped (README P14), so no pin is taken or released. Otherwise the page is pinned
 * (read if need be) and latched. Either way the caller reads pager_read_data() and ends
 * with pager_read_end(), nothing else (no unpin, unlatch, or mark_dirty). Returns as
 * pager_pin. Thread-safe. early_offset: a byte of the page the caller expects to read
 * soon after the first lines (a guess, any value); on a hit, PAGER_EARLY_LINES lines from
 * its line on are requested with the first config.hit_prefetch_lines.
 * PAGER_PAGE_SIZE or more: none.
 */
#define PAGER_EARLY_LINES 6u
typedef struct pager_read {
    pager_frame *frame;
    bool pinned; /* the miss path: a pin is held too */
} pager_read;
int pager_read_begin(pager *pager, uint64_t page_no, unsigned flags, uint32_t early_offset,
                     pager_read *read_out) COMMON_WUR;
const uint8_t *pager_read_data(const pager_read *read);
void pager_read_end(pager *pager, pager_read *read);

/* Pages in the file (including the two superblocks): the allocation high-water mark. */
uint64_t pager_page_count(pager *pager);

/* Allocates count fresh pages at the end of the file; returns the first. */
int pager_extend(pager *pager, uint32_t count, uint64_t *first_page_no_out) COMMON_WUR;

/*
 * Grows the file now so that count more pages can be extended without growing it again
 * (a bulk load's estimate): growth waits for the file's direct writes in flight, so a
 * writer streaming new pages should not meet it run after run. Allocates no page.
 */
int pager_reserve(pager *pager, uint64_t count) COMMON_WUR;

/*
 * A checkpoint that keeps the superblock's LSN and payload: every dirty page written
 * (adjacent pages merged into writes of up to PAGER_WRITE_RUN_PAGES_MAX pages), synced.
 */
int pager_flush(pager *pager) COMMON_WUR;

/*
 * A crash-atomic checkpoint (README P12, P13): writes every dirty page and commits the
 * superblock with lsn and payload. After a crash at any point the file holds either the
 * previous checkpoint or this one (the double-write file finishes it at the next open).
 *
 * In two phases, so that changes stop only for the first:
 *  - pager_checkpoint_begin() fixes the checkpoint's content: every dirty page as it is
 *    now, and the page count. The caller keeps changes out while it runs; it copies
 *    nothing and does no I/O, it pins and marks the dirty frames (P15). From then on
 *    only pages created after it are fresh (P13).
 *  - pager_checkpoint_finish() copies the pages not copied yet, writes them and commits
 *    the superblock; changes may go on meanwhile: the first exclusive latch of a page
 *    not copied yet copies it first (P15), and the change stays dirty for the next
 *    checkpoint. It always consumes job.
 * One checkpoint at a time: a second begin waits for the first finish. Errors:
 * ALEXDB_READONLY, ALEXDB_NOMEM (begin), ALEXDB_TOOBIG (payload), the I/O errors
 * (finish; the pages stay dirty).
 */
typedef struct pager_checkpoint_job pager_checkpoint_job;
int pager_checkpoint_begin(pager *pager, pager_checkpoint_job **job_out) COMMON_WUR;
int pager_checkpoint_finish(pager *pager, pager_checkpoint_job *job, uint64_t lsn, const void *payload,
                            uint32_t payload_size) COMMON_WUR;
/* Gives up a begun checkpoint without writing it: its pages stay dirty, with their latest
 * content, and the checkpoint's pins are dropped. */
void pager_checkpoint_cancel(pager *pager, pager_checkpoint_job *job);
int pager_checkpoint(pager *pager, uint64_t lsn, const void *payload, uint32_t payload_size) COMMON_WUR;

/*
 * Changes to live pages leave the cache only by a checkpoint (README P12), so the layer
 * above keeps at most pager_dirty_budget() frames dirty (three quarters of the pool, at
 * least 32 frames left) and checkpoints when pager_checkpoint_due() says the dirty
 * frames passed it. Both are cheap reads. Why three quarters: README "Write-back".
 */
uint32_t pager_dirty_budget(pager *pager);
bool pager_checkpoint_due(pager *pager);

/*
 * Uncached I/O of count contiguous pages in one request (overflow values, bulk
 * writes). buf is 4 KiB-aligned. read verifies every page; write seals every page
 * (the caller has pager_page_init()-ed them). These pages must not be in the cache.
 */
int pager_read_pages(pager *pager, uint64_t first_page_no, uint32_t count, uint8_t *buf) COMMON_WUR;
int pager_write_pages(pager *pager, uint64_t first_page_no, uint32_t count, uint8_t *buf,
                      uint64_t lsn) COMMON_WUR;

/* One run of pager_write_runs: count contiguous pages from first, in buf. */
typedef struct pager_page_run {
    uint64_t first;
    uint32_t count;
    uint8_t *buf;
} pager_page_run;

/* pager_write_pages of up to PAGER_WRITE_RUNS_MAX runs at once: one submission, so the
 * writes overlap on the device. */
#define PAGER_WRITE_RUNS_MAX 16u
int pager_write_runs(pager *pager, const pager_page_run *runs, uint32_t run_count,
                     uint64_t lsn) COMMON_WUR;

/* ---- The superblock (superblock.c; docs/FORMAT.md 2) ----------------------- */

typedef struct pager_superblock {
    uint64_t generation;  /* grows by one per commit; the larger valid copy wins */
    uint64_t page_count;  /* allocation high-water mark at commit */
    uint64_t lsn;         /* checkpoint LSN, set by the layer above */
    uint64_t db_id;       /* random, chosen at create */
    uint32_t payload_size;
    uint8_t payload[PAGER_SUPERBLOCK_PAYLOAD_SIZE_MAX]; /* owned by the layer above */
} pager_superblock;

/* The superblock read at open or last committed. */
void pager_superblock_get(pager *pager, pager_superblock *superblock_out);

/*
 * Durably replaces the superblock: writes the older of the two slots with
 * generation + 1, the current page count, lsn and payload, then fdatasync. The caller
 * has flushed the pages it refers to. Not concurrent with itself.
 */
int pager_superblock_commit(pager *pager, uint64_t lsn, const void *payload,
                            uint32_t payload_size) COMMON_WUR;

/* ---- Stats ------------------------------------------------------------------ */

typedef struct pager_stats {
    pager_io_stats io;        /* the page file's I/O */
    pager_io_stats dwb_io;    /* the double-write file's (zero until its first use) */
    uint64_t hit_count;       /* pins served from the cache */
    uint64_t miss_count;      /* pins that read the page */
    uint64_t eviction_count;
    uint64_t dirty_write_count; /* write-back I/Os (merged runs count once) */
    uint64_t dirty_count;     /* frames holding changes not yet written */
    uint64_t frame_count;
    const char *backend;      /* "io_uring", "posix" or "fault" */
    const char *fallback_reason;
} pager_stats;

void pager_stats_get(pager *pager, pager_stats *stats_out);
pager_file *pager_get_file(pager *pager);

#endif /* PAGER_H */
