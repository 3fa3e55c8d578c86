/* api_strerror_test.c: names for every result code (api/strerror.c). */
#include "testutil.h"

#include <string.h>

/* Every code has its own name that starts with the code's identifier. */
static void test_every_code_named(void **state)
{
    (void)state;
    static const struct { int rc; const char *name; } codes[] = {
        {ALEXDB_OK, "ALEXDB_OK"},           {ALEXDB_NOTFOUND, "ALEXDB_NOTFOUND"},
        {ALEXDB_INVALID, "ALEXDB_INVALID"}, {ALEXDB_NOMEM, "ALEXDB_NOMEM"},
        {ALEXDB_IO, "ALEXDB_IO"},           {ALEXDB_CORRUPT, "ALEXDB_CORRUPT"},
        {ALEXDB_NOTDB, "ALEXDB_NOTDB"},     {ALEXDB_VERSION, "ALEXDB_VERSION"},
        {ALEXDB_BUSY, "ALEXDB_BUSY"},       {ALEXDB_NOSPACE, "ALEXDB_NOSPACE"},
        {ALEXDB_READONLY, "ALEXDB_READONLY"}, {ALEXDB_TOOBIG, "ALEXDB_TOOBIG"},
        {ALEXDB_FULL, "ALEXDB_FULL"},       {ALEXDB_CLOSED, "ALEXDB_CLOSED"},
        {ALEXDB_NOTSUP, "ALEXDB_NOTSUP"},
    };
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        const char *s = alexdb_strerror(codes[i].rc);
        assert_int_equal(strncmp(s, codes[i].name, strlen(codes[i].name)), 0);
        assert_int_equal(s[strlen(codes[i].name)], ':');
    }
}

/* Unknown codes get a generic text, never NULL. */
static void test_unknown_code(void **state)
{
    (void)state;
    assert_string_equal(alexdb_strerror(12345), "unknown alexdb result code");
    assert_string_equal(alexdb_strerror(-999), "unknown alexdb result code");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_code_named),
        cmocka_unit_test(test_unknown_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
