/*
 * alex_inner_sim.h: the simulated-leaf harness of the inner-node tests
 * (alex_inner_sim.c): each leaf is a sorted array of keys held by page number; a leaf
 * over split_at keys splits by calling alex_inner_split with its keys and moving the
 * keys >= the boundary to a new leaf. sim_check is the oracle: the leaves' ranges tile
 * [0, UINT64_MAX] in key order, each range is exactly what routes to its leaf, and
 * every key routes to the leaf holding it. Also: stream builders for persist tests and
 * the key orders every inner test runs.
 */
#ifndef ALEX_INNER_SIM_H
#define ALEX_INNER_SIM_H

#include "alex_int.h"
#include "testutil.h"

typedef struct sim_leaf {
    uint64_t *keys;
    uint32_t count;
    uint32_t capacity;
    bool live;
} sim_leaf;

typedef struct sim {
    alex_inner *inner;
    sim_leaf *leaves; /* indexed by page number */
    uint64_t page_capacity;
    uint64_t *free_pages;
    uint64_t free_count;
    uint64_t next_page;
    uint32_t split_at;
    uint64_t key_count;
    uint64_t live_leaves;
    uint64_t split_count;
    uint64_t merge_count;
} sim;

typedef struct sim_stream {
    uint8_t bytes[4096];
    size_t size;
    uint32_t node_count;
    uint64_t slot_total;
} sim_stream;

typedef struct sim_run {
    alex_ref ref;
    uint32_t length;
} sim_run;

typedef enum sim_order {
    ORDER_SEQUENTIAL,
    ORDER_REVERSE,
    ORDER_UNIFORM,
    ORDER_CLUSTER,
    ORDER_NEAR_MAX,
    ORDER_ABOVE_2_53,
    ORDER_COLLIDING,
    ORDER_ALTERNATING,
    ORDER_GEOMETRIC,
    ORDER_COUNT
} sim_order;

extern const char *const sim_order_names[ORDER_COUNT];

void sim_init(sim *s, uint32_t split_at);
void sim_destroy(sim *s);
uint64_t sim_page_new(sim *s);
void sim_page_free(sim *s, uint64_t page);
void sim_leaf_reserve(sim_leaf *leaf, uint32_t count);
uint32_t sim_lower_bound(const sim_leaf *leaf, uint64_t key);
uint64_t sim_route_leaf(const sim *s, uint64_t key);
void sim_range_of(const sim *s, uint64_t key, uint64_t *low, uint64_t *high);
int sim_split(sim *s, const alex_route *route);
int sim_insert(sim *s, uint64_t key);
void sim_absorb(sim *s, uint64_t page, uint64_t survivor);
void sim_delete(sim *s, uint64_t key, uint32_t merge_at);
void sim_check(const sim *s);
double sim_memory_per_leaf(const sim *s);
void sim_report(const sim *s, const char *name);
void sim_collapse(sim *s);
void sim_stream_begin(sim_stream *st, alex_ref root);
void sim_stream_node(sim_stream *st, uint32_t log2, uint32_t flags, double slope, double intercept, uint64_t base, const sim_run *runs, uint32_t count);
void sim_stream_end(sim_stream *st);
void sim_stream_reseal(uint8_t *bytes, size_t size);
uint64_t sim_key(sim_order order, uint64_t i, uint64_t n, common_rng *rng, uint64_t *state);

#endif /* ALEX_INNER_SIM_H */
