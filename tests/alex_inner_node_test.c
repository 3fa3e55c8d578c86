/*
 * alex_inner_node_test.c: the node table and the run-bitmap slots (alex/inner_node.c)
 * against the trivially correct oracle, a plain array of one ref per slot (run starts
 * found by rank and by a walk to the next one): split,
 * merge, the three expansions, bitmaps inline and with a rank directory, a key's place
 * in its run, the free list, and the memory accounting.
 */
#include "testutil.h"

#include "alex_int.h"

/* The oracle: the ref of every slot. */
typedef struct oracle {
    alex_ref slots[1u << 13];
    uint32_t slot_count;
} oracle;

/*
 * alex_inner_node_run_position at slot s of the run [first, end), for fractional slots
 * inside s, before it, after it and NaN: the place of the clamped slot in the run, or
 * 0.5 when a run end lies beyond the bitmap word next to s's.
 */
static void run_position_check(const alex_inner_node *node, uint32_t s, uint32_t first, uint32_t end)
{
    uint32_t slot_count = 1u << node->slot_count_log2;
    uint32_t w = s >> 6;
    bool first_near = (first >> 6) + 1 >= w;
    bool end_near = end == slot_count ? ((end - 1) >> 6) <= w + 1 : (end >> 6) <= w + 1;
    const double ys[] = { s + 0.25, s + 0.75, s - 3.0, s + 7.5, (double)s, __builtin_nan("") };
    for (size_t i = 0; i < COMMON_ARRAY_COUNT(ys); i++) {
        double got = alex_inner_node_run_position(node, s, ys[i]);
        if (!first_near || !end_near) {
            assert_true(got == 0.5);
            continue;
        }
        double y = ys[i];
        if (!(y >= (double)s)) y = (double)s;
        if (y >= (double)s + 1.0) y = (double)s + 0.999;
        double want = (y - (double)first) / (double)(end - first);
        assert_true(got > want - 1e-9 && got < want + 1e-9);
        assert_true(got >= 0.0 && got < 1.0);
    }
}

static void check_node(const alex_inner_node *node, const oracle *o)
{
    uint32_t slot_count = 1u << node->slot_count_log2;
    assert_int_equal(slot_count, o->slot_count);
    const alex_ref *children = alex_inner_node_children(node);
    uint32_t runs = 0;
    for (uint32_t s = 0; s < slot_count; s++) {
        if (s == 0 || o->slots[s] != o->slots[s - 1]) {
            assert_int_equal(alex_inner_node_run_start(node, runs), s);
            runs++;
        }
        uint32_t k = alex_inner_node_child_index(node, s);
        assert_int_equal(k, runs - 1);
        assert_int_equal(children[k], o->slots[s]);
    }
    assert_int_equal(runs, node->child_count);
    assert_int_equal(alex_inner_node_run_start(node, runs), slot_count);
    uint32_t next = slot_count; /* the first run start after s */
    for (uint32_t s = slot_count; s-- > 0;) {
        assert_int_equal(alex_inner_node_next_run_start(node, s), next);
        run_position_check(node, s, alex_inner_node_run_start(node, alex_inner_node_child_index(node, s)), next);
        if (s == 0 || o->slots[s] != o->slots[s - 1]) next = s;
    }
}

/* The bytes inner_node.c says it allocates (its documented size classes). */
static uint64_t expected_heap(const alex_inner *inner)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < inner->node_used; i++) {
        const alex_inner_node *node = &inner->nodes[i];
        if (node->slot_count_log2 == 0) continue;
        if (node->slot_count_log2 > 6) total += ((1ull << node->slot_count_log2) >> 6) * 12 + 16;
        uint32_t c = node->child_count;
        if (c > 2) {
            uint32_t top = 1u << (31 - __builtin_clz(c));
            uint32_t step = top / 8 > 4 ? top / 8 : 4;
            total += (uint64_t)(c + step - 1) / step * step * 4 + 16;
        }
    }
    return total;
}

/* Builds node index in inner from the oracle's runs. */
static uint32_t node_from_oracle(alex_inner *inner, uint32_t log2, const oracle *o)
{
    uint32_t runs = 0;
    for (uint32_t s = 0; s < o->slot_count; s++) runs += s == 0 || o->slots[s] != o->slots[s - 1];
    uint32_t index = 0;
    assert_int_equal(alex_inner_node_new(inner, log2, runs, &index), ALEXDB_OK);
    alex_inner_node *node = &inner->nodes[index];
    for (uint32_t s = 0, k = 0; s < o->slot_count; s++) {
        if (s == 0 || o->slots[s] != o->slots[s - 1]) alex_inner_node_set_run(node, k++, s, o->slots[s]);
    }
    alex_inner_node_seal(node);
    return index;
}

/* A random oracle of 2^log2 slots in runs of distinct refs (at least two runs). */
static void oracle_random(oracle *o, uint32_t log2, common_rng *rng, alex_ref *next_ref)
{
    o->slot_count = 1u << log2;
    do {
        alex_ref ref = (*next_ref)++;
        uint32_t stay = 1 + (uint32_t)common_rng_below(rng, 6);
        for (uint32_t s = 0; s < o->slot_count; s++) {
            if (s > 0 && common_rng_below(rng, stay) == 0) ref = (*next_ref)++;
            o->slots[s] = ref;
        }
    } while (o->slots[0] == o->slots[o->slot_count - 1]);
}

static void oracle_expand(oracle *o, int kind, bool reversed)
{
    uint32_t n = o->slot_count;
    alex_ref old[1u << 12];
    memcpy(old, o->slots, n * sizeof(alex_ref));
    for (uint32_t s = 0; s < 2 * n; s++) {
        if (kind == ALEX_INNER_EXPAND_SCALE) o->slots[s] = old[s / 2];
        else if (!reversed) o->slots[s] = s < n ? old[s] : old[n - 1];
        else o->slots[s] = s <= n ? old[0] : old[s - n];
    }
    o->slot_count = 2 * n;
}

/* Random splits, merges and expansions agree with the plain array at every step, for every size. */
static void test_random_against_array(void **state)
{
    (void)state;
    common_rng rng;
    common_rng_seed(&rng, tu_seed());
    alex_ref next_ref = 2;
    for (uint32_t round = 0; round < 300; round++) {
        alex_inner *inner = NULL;
        assert_int_equal(alex_inner_create(2, &inner), ALEXDB_OK);
        uint32_t log2 = 1 + (uint32_t)common_rng_below(&rng, 9);
        static oracle o;
        oracle_random(&o, log2, &rng, &next_ref);
        uint32_t index = node_from_oracle(inner, log2, &o);
        alex_inner_node *node = &inner->nodes[index];
        node->flags = common_rng_below(&rng, 2) ? ALEX_INNER_REVERSED : 0;
        check_node(node, &o);
        for (int step = 0; step < 60; step++) {
            uint32_t op = (uint32_t)common_rng_below(&rng, 10);
            uint32_t k = (uint32_t)common_rng_below(&rng, node->child_count);
            uint32_t first = alex_inner_node_run_start(node, k);
            uint32_t end = alex_inner_node_run_start(node, k + 1);
            if (op < 5 && end - first >= 2) {
                uint32_t at = first + 1 + (uint32_t)common_rng_below(&rng, end - first - 1);
                alex_ref ref = next_ref++;
                assert_int_equal(alex_inner_node_split_run(inner, node, k, at, ref), ALEXDB_OK);
                for (uint32_t s = at; s < end; s++) o.slots[s] = ref;
            } else if (op < 8 && node->child_count > 2) {
                bool left = k > 0 && (k + 1 == node->child_count || common_rng_below(&rng, 2));
                alex_ref into = alex_inner_node_children(node)[left ? k - 1 : k + 1];
                alex_inner_node_merge_run(inner, node, k, left);
                for (uint32_t s = first; s < end; s++) o.slots[s] = into;
            } else if (op >= 8 && node->slot_count_log2 < 12) {
                int kind = op == 8 ? ALEX_INNER_EXPAND_SCALE : ALEX_INNER_EXPAND_EXTEND;
                assert_int_equal(alex_inner_node_expand(inner, node, kind), ALEXDB_OK);
                oracle_expand(&o, kind, node->flags & ALEX_INNER_REVERSED);
            }
            check_node(node, &o);
            assert_int_equal(inner->heap_size, expected_heap(inner));
            assert_int_equal(inner->slot_total, o.slot_count);
        }
        alex_inner_destroy(inner);
    }
}

/* Freed table entries are reused; counters and memory return to what they were. */
static void test_free_list(void **state)
{
    (void)state;
    alex_inner *inner = NULL;
    assert_int_equal(alex_inner_create(2, &inner), ALEXDB_OK);
    common_rng rng;
    common_rng_seed(&rng, tu_seed() + 1);
    alex_ref next_ref = 2;
    uint32_t index[40];
    static oracle o;
    for (uint32_t i = 0; i < 40; i++) {
        uint32_t log2 = 1 + i % 10;
        oracle_random(&o, log2, &rng, &next_ref);
        index[i] = node_from_oracle(inner, log2, &o);
        assert_int_equal(index[i], i);
    }
    for (uint32_t i = 0; i < 40; i += 2) alex_inner_node_free(inner, index[i]);
    assert_int_equal(inner->node_count, 20);
    assert_int_equal(inner->heap_size, expected_heap(inner));
    for (uint32_t i = 0; i < 40; i += 2) {
        uint32_t log2 = 1 + i % 10;
        oracle_random(&o, log2, &rng, &next_ref);
        uint32_t again = node_from_oracle(inner, log2, &o);
        assert_true(again < 40 && again % 2 == 0); /* an old entry */
        check_node(&inner->nodes[again], &o);
    }
    assert_int_equal(inner->node_count, 40);
    assert_int_equal(inner->node_used, 40);
    assert_int_equal(inner->heap_size, expected_heap(inner));
    alex_inner_destroy(inner);
}

/* The slot total is a hard limit: a node past ALEX_INNER_SLOT_TOTAL_MAX is ALEXDB_FULL. */
static void test_slot_total_limit(void **state)
{
    (void)state;
    alex_inner *inner = NULL;
    assert_int_equal(alex_inner_create(2, &inner), ALEXDB_OK);
    inner->slot_total = ALEX_INNER_SLOT_TOTAL_MAX - 2; /* pretend the rest is in use */
    uint32_t index = 0;
    assert_int_equal(alex_inner_node_new(inner, 2, 2, &index), ALEXDB_FULL);
    assert_int_equal(alex_inner_node_new(inner, 1, 2, &index), ALEXDB_OK);
    alex_inner_node *node = &inner->nodes[index];
    alex_inner_node_set_run(node, 0, 0, 10);
    alex_inner_node_set_run(node, 1, 1, 11);
    alex_inner_node_seal(node);
    assert_int_equal(alex_inner_node_expand(inner, node, ALEX_INNER_EXPAND_SCALE), ALEXDB_FULL);
    assert_int_equal(node->slot_count_log2, 1); /* unchanged */
    alex_inner_node_free(inner, index);
    assert_int_equal(inner->slot_total, ALEX_INNER_SLOT_TOTAL_MAX - 2);
    inner->slot_total = 0;
    alex_inner_destroy(inner);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_against_array),
        cmocka_unit_test(test_free_list),
        cmocka_unit_test(test_slot_total_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
