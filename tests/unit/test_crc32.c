/*
 * test_crc32.c - the slice-by-8 CRC-32 behind x-amz-crc32 gives the
 * standard CRC-32 (check values from the CRC catalogue and zlib) and the
 * same answer as the bytewise loop for every length and alignment, on
 * both sides of the switch to zlib's crc32 at 1 KiB,
 * including when a CRC is continued across calls.
 */
#include "base/crc32.h"
#include "test.h"

static void test_check_values(void)
{
    ASSERT_EQ(crc32_update(0, "", 0), 0u);
    ASSERT_EQ(crc32_update(0, "123456789", 9), 0xCBF43926u);
    ASSERT_EQ(crc32_update(0, "The quick brown fox jumps over the lazy dog",
                           43), 0x414FA339u);
    /* DynamoDB's empty-object reply "{}" as the SDKs check it. */
    ASSERT_EQ(crc32_update(0, "{}", 2), 2745614147u);
}

static void test_matches_bytewise(void)
{
    static uint8_t buf[4096 + 16];
    uint32_t x = 2463534242u;

    for (size_t i = 0; i < sizeof buf; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        buf[i] = (uint8_t)x;
    }
    for (size_t off = 0; off < 16; off++)
        for (size_t n = 0; n <= 200; n++)
            ASSERT_EQ(crc32_update(0, buf + off, n),
                      crc32_update_bytewise(0, buf + off, n));
    /* around the switch to zlib's crc32 (1 KiB) and past it */
    for (size_t off = 0; off < 16; off += 5)
        for (size_t n = 1000; n <= 1050; n++)
            ASSERT_EQ(crc32_update(0, buf + off, n),
                      crc32_update_bytewise(0, buf + off, n));
    ASSERT_EQ(crc32_update(0, buf + 3, 4096),
              crc32_update_bytewise(0, buf + 3, 4096));
    /* continued: a small piece then a large one and the reverse */
    ASSERT_EQ(crc32_update(crc32_update(0, buf, 100), buf + 100, 3000),
              crc32_update_bytewise(0, buf, 3100));
    ASSERT_EQ(crc32_update(crc32_update(0, buf, 3000), buf + 3000, 100),
              crc32_update_bytewise(0, buf, 3100));
}

static void test_continued(void)
{
    const char *s = "The quick brown fox jumps over the lazy dog";

    for (size_t cut = 0; cut <= 43; cut++)
        ASSERT_EQ(crc32_update(crc32_update(0, s, cut), s + cut, 43 - cut),
                  0x414FA339u);
}

int main(void)
{
    RUN(test_check_values);
    RUN(test_matches_bytewise);
    RUN(test_continued);
    return TEST_DONE();
}
