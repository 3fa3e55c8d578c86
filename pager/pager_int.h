/*
 * pager_int.h: pager/'s private structures. Only the .c files of pager/ include this.
 * The backend table (io_ops) is the seam between file.c and io_uring.c / io_posix.c /
 * io_fault.c (Redis's ae_epoll.c / ae_select.c split).
 */
#ifndef PAGER_INT_H
#define PAGER_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "pager.h"

/*
 * An I/O backend. submit() queues every request (it may also complete them at once);
 * reap() waits until every request of the same batch has completed and its result is
 * set. Both return ALEXDB_OK or an error that concerns the whole batch; per-request
 * failures are -errno in req->result. sync() returns 0 or -errno.
 */
typedef struct pager_io_ops {
    const char *name;
    int (*open)(pager_file *file, int open_flags);
    void (*close)(pager_file *file);
    int (*submit)(pager_file *file, pager_io_req *reqs, uint32_t count);
    int (*reap)(pager_file *file, pager_io_req *reqs, uint32_t count);
    int (*sync)(pager_file *file);
    /*
     * Optional (NULL: file.c writes, then syncs): one write, durable when it completes
     * (RWF_DSYNC), in one device round trip. Returns bytes written or -errno; a failure
     * may be the flush's, so it is never retried (F2).
     */
    int (*write_dsync)(pager_file *file, pager_io_req *req);
    /*
     * Optional (NULL: file.c writes zeros): makes [offset, offset + size) exist and read
     * as zeros without writing them (fallocate). Returns 0 or -errno; -EOPNOTSUPP means
     * the filesystem cannot, and file.c writes zeros instead.
     */
    int (*allocate)(pager_file *file, uint64_t offset, uint64_t size);
} pager_io_ops;

/* The allocate of the uring and posix backends: fallocate(2) on the file. */
int pager_io_fallocate(pager_file *file, uint64_t offset, uint64_t size);

extern const pager_io_ops pager_io_uring_ops;
extern const pager_io_ops pager_io_posix_ops;
extern const pager_io_ops pager_io_fault_ops;

/* Probes io_uring on this thread: 0 if usable, else a positive errno. */
int pager_io_uring_probe(void);

#define PAGER_PATH_SIZE_MAX 4096u

struct pager_file {
    const pager_io_ops *ops;
    void *impl;                 /* the backend's own state */
    int fd;
    int direct;                 /* opened with O_DIRECT */
    unsigned flags;             /* PAGER_OPEN_* */
    pager_env env;
    char *path;
    char fallback_reason[128];
    _Atomic int sticky_error;   /* F2: once set, writes and syncs are refused */
    _Atomic bool dsync_refused; /* the kernel refused RWF_DSYNC: write, then sync */
    _Atomic uint64_t read_count;
    _Atomic uint64_t write_count;
    _Atomic uint64_t sync_count;
    _Atomic uint64_t read_bytes;
    _Atomic uint64_t write_bytes;
    _Atomic uint64_t submit_count;
};

void pager_log(const pager_env *env, int level, const char *fmt, ...) COMMON_PRINTF(3, 4);

/* Fault domain hooks used by io_fault.c. */
typedef struct pager_fault_file pager_fault_file;
pager_fault_file *pager_fault_attach(pager_fault *fault, const char *path);
/* path is being removed or renamed: drop the domain's unsynced writes to it. */
void pager_fault_forget(pager_fault *fault, const char *path);

/* ---- buffer pool ---- */

typedef enum pager_frame_state {
    PAGER_FRAME_FREE = 0,    /* on the free list, in no page table chain */
    PAGER_FRAME_READING = 1, /* in the table; its read is in flight */
    PAGER_FRAME_VALID = 2,   /* in the table; data is the page */
    PAGER_FRAME_ERROR = 3,   /* out of the table; the read failed; error says why */
} pager_frame_state;

#define PAGER_USAGE_MAX 3u
/*
 * Requests a checkpoint keeps in flight for its in-place writes (pager_write_images).
 * Every one queues on the device ahead of a commit's log write: with 256 in flight,
 * bench/jobs/durable32.job's 32 writers (64 MiB cache, a checkpoint every 0.2-0.4 s) had a
 * p99 of 3.0-3.4 ms; with 16, 1.7-2.1 ms at the same rate (pager/README "Write-back").
 */
#define PAGER_IMAGE_WRITE_DEPTH 16u
/*
 * The same for the double-write file's writes, runs of PAGER_DWB_RUN_PAGES each:
 * 4 in flight, not 256 (the whole file at once). A commit's fdatasync flushes whatever
 * of them has completed; with all of them in flight, single fdatasyncs took up to 12.7
 * ms and durable32.job's 99.99th percentile was 15-23 ms (pager/README "Write-back").
 */
#define PAGER_DWB_WRITE_DEPTH 4u
/*
 * Pages per double-write request: 32 (128 KiB), not PAGER_WRITE_RUN_PAGES_MAX. A log
 * fdatasync during the double-write phase flushes the runs completed since the one
 * before; with 1 MiB runs durable32.job's p99 was 1.71-1.81 ms, with 128 KiB runs
 * 1.45-1.61 ms at the same rate (8 pages: 1.37-1.47 ms, but a 164 MiB checkpoint then
 * took 0.60-0.65 s instead of 0.28-0.30 s; 32 pages: 0.32-0.38 s). pager/README
 * "Write-back".
 */
#define PAGER_DWB_RUN_PAGES 32u
/*
 * Frames pager_dirty_budget() leaves for clean pages however small the pool: half of
 * the smallest pool (PAGER_CACHE_SIZE_MIN), as the budget of half the pool left before.
 * A quarter of a small pool was too little: a background checkpoint makes every dirty
 * page live (not evictable) until it finishes, and with 16 frames left an index change
 * running beside it found no frame (ALEXDB_FULL).
 */
#define PAGER_CLEAN_FRAMES_MIN 32u
#define PAGER_STRIPE_COUNT 64u
/* pin_count of a frame no fast-path pin may take: FREE, claimed, or being evicted (P4). */
#define PAGER_PIN_LOCKED (1u << 31)
/* latch word: the writer bit, else the number of readers (P5). */
#define PAGER_LATCH_EXCLUSIVE (1u << 31)
/* The page map: page number -> frame, in chunks made on first use (P3). */
#define PAGER_MAP_CHUNK_SHIFT 19u
#define PAGER_MAP_CHUNK_ENTRIES (1u << PAGER_MAP_CHUNK_SHIFT)
#define PAGER_MAP_CHUNK_SIZE (PAGER_MAP_CHUNK_ENTRIES * 4u) /* one 2 MiB huge page */
#define PAGER_MAP_CHUNK_COUNT (uint32_t)(PAGER_PAGE_COUNT_MAX >> PAGER_MAP_CHUNK_SHIFT)

/*
 * A frame's dirty word (P13). The checkpoint under way moves DIRTY -> PENDING at its
 * begin, PENDING -> COPIED when the page is copied into its image (by whichever of the
 * checkpointer or the next exclusive latcher comes first, P15), COPIED -> CLEAN once
 * written. A change after the copy sets DIRTY again. Every move out of PENDING is made
 * under the frame's latch; PENDING is never cleared or set DIRTY without the copy, but
 * by pager_checkpoint_cancel.
 */
typedef enum pager_dirty_state {
    PAGER_CLEAN = 0,
    PAGER_DIRTY = 1,        /* changed since it was last written or copied */
    PAGER_DIRTY_COPIED = 2, /* copied by the checkpoint under way, not yet written */
    PAGER_DIRTY_PENDING = 3, /* in the checkpoint under way, not yet copied: the job pins it */
} pager_dirty_state;

/* One cache line: a hit touches this line and the page, nothing else. */
struct pager_frame {
    _Atomic uint32_t pin_count; /* pins, or PAGER_PIN_LOCKED (P2, P4) */
    _Atomic uint32_t state;     /* pager_frame_state; futex word for readers' waiters */
    _Atomic uint64_t page_no;   /* PAGER_PAGE_NO_NONE when free */
    _Atomic uint32_t latch;     /* PAGER_LATCH_EXCLUSIVE or the reader count; futex word */
    _Atomic uint32_t latch_sleepers; /* threads asleep (or about to be) on latch */
    _Atomic uint64_t lsn;       /* the largest LSN passed to pager_mark_dirty */
    uint8_t *data;
    uint8_t *image;             /* PENDING: its slot in the checkpoint's images (P15) */
    int32_t error;              /* valid in state ERROR */
    uint32_t index;
    _Atomic uint32_t fresh_epoch; /* == pager.epoch: free in the checkpoint in force (P12) */
    _Atomic uint8_t usage;      /* clock usage count, 0..PAGER_USAGE_MAX */
    _Atomic uint8_t waiters;    /* 1 if a thread may sleep on state (futex) */
    _Atomic uint8_t dirty;      /* pager_dirty_state; change through pager_dirty_* */
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct pager_frame) == 64, "a frame descriptor is one cache line");

struct pager {
    pager_file *file;
    pager_config config;
    uint32_t frame_count;
    pager_frame *frames;
    uint8_t *frame_memory;
    size_t frame_memory_size;

    /* PAGER_MAP_CHUNK_COUNT chunk pointers; an entry is a frame index + 1, 0 if none */
    _Atomic(_Atomic uint32_t *) *map_chunks;
    pthread_mutex_t map_lock;   /* makes chunks */
    pthread_mutex_t stripes[PAGER_STRIPE_COUNT];

    pthread_mutex_t free_lock;
    pthread_mutex_t prefetch_lock; /* one pager_prefetch at a time: it owns prefetch_buf */
    uint8_t *prefetch_buf;         /* PAGER_PREFETCH_BATCH_RUNS runs; made on first use */
    uint32_t *free_stack;
    uint32_t free_count;

    _Atomic uint64_t clock_hand;
    _Atomic uint64_t page_count;
    uint64_t file_page_count;   /* pages that exist in the file; under extend_lock */
    pthread_mutex_t extend_lock;

    pthread_mutex_t flush_lock; /* one checkpoint at a time, from its begin to its finish */
    pager_frame **flush_frames; /* the checkpoint's frames, frame_count entries */
    uint64_t *flush_keys;       /* 2 x frame_count: collect_dirty's sort keys and scratch */
    /* The checkpoints' image buffer (frame_count slots), under flush_lock: made at the
     * first checkpoint and kept, so its pages are not faulted in (and zeroed) again by
     * each checkpoint's copies; only the slots the largest checkpoint used are resident. */
    uint8_t *flush_images;

    pthread_mutex_t superblock_lock; /* guards superblock and superblock_slot */
    pager_superblock superblock;
    uint32_t superblock_slot;   /* the slot (0 or 1) holding the current copy */

    _Atomic uint64_t dirty_count; /* frames with dirty set */
    _Atomic uint32_t epoch;     /* checkpoints committed + 1: a commit makes every page live */
    _Atomic(pager_file *) dwb;  /* the double-write file, opened at its first use */
    common_counter *hit_count; /* every pin served from the cache: a hot path */
    _Atomic uint64_t miss_count;
    _Atomic uint64_t eviction_count;
    _Atomic uint64_t dirty_write_count;
};

/* pool.c */
int pager_pool_init(pager *pager) COMMON_WUR;
void pager_pool_destroy(pager *pager);
/* Pins f if it still holds page_no in state VALID; false otherwise. */
bool pager_pool_try_pin(pager *pager, pager_frame *frame, uint64_t page_no);
/* The page is free in the checkpoint in force: it may be written at any time (P12). */
bool pager_frame_fresh(pager *pager, pager_frame *frame);
/* Sets / clears f's dirty flag and keeps dirty_count exact; return the old flag. */
bool pager_dirty_set(pager *pager, pager_frame *frame);
bool pager_dirty_clear(pager *pager, pager_frame *frame);
/*
 * A checkpoint's transitions (P13, P15): DIRTY -> PENDING at its begin, under the shared
 * latch (true if it was DIRTY); PENDING -> COPIED by pager_checkpoint_copy_frame;
 * COPIED -> CLEAN once written; COPIED -> DIRTY if the checkpoint failed (PENDING ->
 * DIRTY too, under the latch, by pager_checkpoint_cancel).
 */
bool pager_dirty_pend(pager *pager, pager_frame *frame);
void pager_dirty_written(pager *pager, pager_frame *frame);
void pager_dirty_unwritten(pager *pager, pager_frame *frame);
/* writeback.c */
/*
 * P15: copies a PENDING frame's page into its image slot, sealed with the frame's LSN,
 * marks it COPIED and drops the checkpoint's pin. The caller holds the frame's latch
 * (exclusive: pager_latch_exclusive; shared: the checkpointer) and a pin of its own.
 */
void pager_checkpoint_copy_frame(pager_frame *frame);
int pager_writeback_frame(pager *pager, pager_frame *frame) COMMON_WUR;
/*
 * Writes count sealed page images in place, each at the page number in its own header;
 * images of adjacent pages (in order) go out as one request.
 */
int pager_write_images(pager *pager, uint8_t *images, uint32_t count) COMMON_WUR;
/* dwb.c: rolls a checkpoint forward from the double-write file if it was cut short. */
int pager_dwb_recover(pager *pager) COMMON_WUR;
/*
 * Writes the images and a header naming the checkpoint to come (with page_count, its
 * allocation high-water mark), then fdatasyncs.
 */
int pager_dwb_write(pager *pager, const uint8_t *images, uint32_t count, uint64_t page_count,
                    uint64_t lsn, const void *payload, uint32_t payload_size) COMMON_WUR;
/* superblock.c */
/* pager_superblock_commit with the page count given (a checkpoint's, from its start). */
int pager_superblock_commit_at(pager *pager, uint64_t page_count, uint64_t lsn, const void *payload,
                               uint32_t payload_size) COMMON_WUR;
int pager_superblock_load(pager *pager) COMMON_WUR;
int pager_superblock_create(pager *pager) COMMON_WUR;
void pager_superblock_encode(const pager_superblock *sb, uint8_t *page);
int pager_superblock_decode(const char *path, const uint8_t *page, uint64_t slot,
                            pager_superblock *sb_out) COMMON_WUR;

#endif /* PAGER_INT_H */
