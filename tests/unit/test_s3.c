/*
 * test_s3.c - the S3 client's parts that need no object store: s3:// URLs,
 * the credential chain (environment, shared credentials file, profiles),
 * key rules and SigV4 percent-encoding, the XML readers (errors, list
 * pages with entities and continuation), ETags (single and multipart,
 * against values computed with Python's hashlib), the retry policy, the
 * configuration checks of s3_client_new, and one request to a closed port
 * (retries, then "cannot reach").  The live tests against Ceph RGW are in
 * tests/integration/test_s3_client.py.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "s3/s3.h"
#include "s3/s3_int.h"
#include "test.h"

/* ---- helpers ------------------------------------------------------------ */

static char tmpdir[64];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (f == NULL) {
        perror(path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
}

static void clear_aws_env(void)
{
    static const char *vars[] = {
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
        "AWS_SHARED_CREDENTIALS_FILE", "AWS_REGION", "AWS_DEFAULT_REGION",
        "AWS_CA_BUNDLE",
    };

    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
}

static void free3(char *a, char *b, char *c)
{
    free(a);
    free(b);
    free(c);
}

/* ---- s3:// URLs ---------------------------------------------------------- */

static void test_parse_url_ok(void)
{
    static const struct {
        const char *url, *bucket, *prefix;
    } cases[] = {
        {"s3://bucket", "bucket", ""},
        {"s3://bucket/", "bucket", ""},
        {"s3://my.bucket-1/a/b", "my.bucket-1", "a/b"},
        {"s3://my.bucket-1/a/b/", "my.bucket-1", "a/b"},
        {"s3://bkt/backups//", "bkt", "backups"},
        {"s3://bkt/t-1/$x:y z", "bkt", "t-1/$x:y z"},
        {"s3://123/x", "123", "x"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tm_error err = {0};
        char *b = NULL, *p = NULL;
        ASSERT_EQ(s3_parse_url(cases[i].url, &b, &p, &err), 0);
        ASSERT_STR_EQ(b, cases[i].bucket);
        ASSERT_STR_EQ(p, cases[i].prefix);
        free(b);
        free(p);
    }
}

static void test_parse_url_bad(void)
{
    static const struct {
        const char *url, *says;
    } cases[] = {
        {"http://bucket/x", "is not an S3 URL"},
        {"bucket/x", "is not an S3 URL"},
        {"s3://", "has no bucket name"},
        {"s3:///x", "has no bucket name"},
        {"s3://ab", "bucket name must be 3 to 63"},
        {"s3://Bucket", "bucket name must be 3 to 63"},
        {"s3://bucket_1", "bucket name must be 3 to 63"},
        {"s3://-bucket", "bucket name must be 3 to 63"},
        {"s3://bucket-", "bucket name must be 3 to 63"},
        {"s3://a234567890123456789012345678901234567890123456789012345678901"
         "234", "bucket name must be 3 to 63"},
        {"s3://bucket//a", "must not start or end with '/'"},
        {"s3://bucket/a//b", "empty, \".\" or \"..\""},
        {"s3://bucket/a/../b", "empty, \".\" or \"..\""},
        {"s3://bucket/./b", "empty, \".\" or \"..\""},
        {"s3://bucket/a\tb", "control character"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tm_error err = {0};
        char *b = (char *)"x", *p = (char *)"y";
        ASSERT_EQ(s3_parse_url(cases[i].url, &b, &p, &err), TM_EVALIDATION);
        ASSERT(b == NULL && p == NULL);
        ASSERT_EQ(err.code, TM_EVALIDATION);
        if (strstr(err.msg, cases[i].says) == NULL ||
            strstr(err.msg, "S3 URL") == NULL)
            TEST_FAIL_("%s: message \"%s\" lacks \"%s\"", cases[i].url,
                       err.msg, cases[i].says);
    }
}

/* ---- credentials -------------------------------------------------------- */

static void test_credentials_env(void)
{
    struct tm_error err = {0};
    char *ak, *sk, *tok;

    clear_aws_env();
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secret/env+x", 1);
    ASSERT_EQ(s3_config_credentials(&ak, &sk, &tok, &err), 0);
    ASSERT_STR_EQ(ak, "AKIDENV");
    ASSERT_STR_EQ(sk, "secret/env+x");
    ASSERT(tok == NULL);
    free3(ak, sk, tok);

    setenv("AWS_SESSION_TOKEN", "tok123", 1);
    ASSERT_EQ(s3_config_credentials(&ak, &sk, &tok, &err), 0);
    ASSERT_STR_EQ(tok, "tok123");
    free3(ak, sk, tok);

    /* one of the two: an error naming the missing one */
    unsetenv("AWS_SECRET_ACCESS_KEY");
    ASSERT_EQ(s3_config_credentials(&ak, &sk, &tok, &err), TM_EVALIDATION);
    ASSERT(ak == NULL && sk == NULL && tok == NULL);
    ASSERT(strstr(err.msg, "AWS_ACCESS_KEY_ID is set but "
                           "AWS_SECRET_ACCESS_KEY is not") != NULL);
    clear_aws_env();
}

static void test_credentials_file(void)
{
    struct tm_error err = {0};
    char path[128], home[128], dotaws[160], *ak, *sk, *tok;

    clear_aws_env();
    snprintf(path, sizeof path, "%s/creds", tmpdir);
    write_file(path,
               "# a comment\r\n"
               "; another\n"
               "[default]\n"
               "aws_access_key_id = AKIDDEFAULT\n"
               "aws_secret_access_key=secret-default\n"
               "\n"
               "[ other ]\r\n"
               "  AWS_Access_Key_ID =  AKIDOTHER  \r\n"
               "aws_secret_access_key = s=ecr#et\r\n"
               "aws_session_token = tokother\r\n"
               "[halfway]\n"
               "aws_access_key_id = AKIDHALF\n");
    setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);

    ASSERT_EQ(s3_config_credentials(&ak, &sk, &tok, &err), 0);
    ASSERT_STR_EQ(ak, "AKIDDEFAULT");
    ASSERT_STR_EQ(sk, "secret-default");
    ASSERT(tok == NULL);
    free3(ak, sk, tok);

    setenv("AWS_PROFILE", "other", 1);
    ASSERT_EQ(s3_config_credentials(&ak, &sk, &tok, &err), 0);
    ASSERT_STR_EQ(ak, "AKIDOTHER");
    ASSERT_STR_EQ(sk, "s=ecr#et");
    ASSERT_STR_EQ(tok, "tokother");
    free3(ak, sk, tok);

    setenv("AWS_PROFILE", "halfway", 1);
    ASSERT_EQ(s3_config_credentials(&ak, &sk, &tok, &err), TM_EVALIDATION);
    ASSERT(ak == NULL && sk == NULL && tok == NULL);
    ASSERT(strstr(err.msg, "profile [halfway]") != NULL);
    ASSERT(strstr(err.msg, "aws_secret_access_key") != NULL);
    ASSERT(strstr(err.msg, path) != NULL);
    ASSERT(strstr(err.msg, "AWS_PROFILE") != NULL);
    ASSERT(strstr(err.msg, "AKIDHALF") == NULL);

    setenv("AWS_PROFILE", "nosuch", 1);
    ASSERT_EQ(s3_config_credentials(&ak, &sk, &tok, &err), TM_EVALIDATION);
    ASSERT(strstr(err.msg, "no profile [nosuch] in") != NULL);
    ASSERT(strstr(err.msg, path) != NULL);
    ASSERT(strstr(err.msg, "secret-default") == NULL);

    /* no variable: ~/.aws/credentials of $HOME */
    clear_aws_env();
    snprintf(home, sizeof home, "%s/home", tmpdir);
    snprintf(dotaws, sizeof dotaws, "%s/.aws", home);
    mkdir(home, 0700);
    mkdir(dotaws, 0700);
    snprintf(dotaws, sizeof dotaws, "%s/.aws/credentials", home);
    write_file(dotaws, "[default]\naws_access_key_id=AKIDHOME\n"
                       "aws_secret_access_key=shome\n"
                       "aws_security_token=oldtok\n");
    setenv("HOME", home, 1);
    ASSERT_EQ(s3_config_credentials(&ak, &sk, &tok, &err), 0);
    ASSERT_STR_EQ(ak, "AKIDHOME");
    ASSERT_STR_EQ(tok, "oldtok");
    free3(ak, sk, tok);

    /* nothing anywhere: the message names what was looked at */
    unlink(dotaws);
    ASSERT_EQ(s3_config_credentials(&ak, &sk, &tok, &err), TM_EVALIDATION);
    ASSERT(strstr(err.msg, "no S3 credentials") != NULL);
    ASSERT(strstr(err.msg, "AWS_ACCESS_KEY_ID") != NULL);
    ASSERT(strstr(err.msg, dotaws) != NULL);
    ASSERT(strstr(err.msg, "[default]") != NULL);
}

static void test_credentials_parse(void)
{
    struct tm_error err = {0};
    const char *t = "[a]\naws_access_key_id=1\n[b]\naws_secret_access_key=2\n"
                    "[a]\naws_secret_access_key=3\n";
    char *ak, *sk, *tok;

    /* a section given twice: both count */
    ASSERT_EQ(s3_credentials_parse(t, strlen(t), "a", "T", &ak, &sk, &tok,
                                   &err), 0);
    ASSERT_STR_EQ(ak, "1");
    ASSERT_STR_EQ(sk, "3");
    free3(ak, sk, tok);
    ASSERT_EQ(s3_credentials_parse(t, strlen(t), "b", "T", &ak, &sk, &tok,
                                   &err), TM_EVALIDATION);
    ASSERT(strstr(err.msg, "has no aws_access_key_id") != NULL);
    ASSERT_EQ(s3_credentials_parse("", 0, "default", "T", &ak, &sk, &tok,
                                   &err), TM_EVALIDATION);
    /* "[profile x]" is the config file's syntax, not this file's */
    t = "[profile x]\naws_access_key_id=1\naws_secret_access_key=2\n";
    ASSERT_EQ(s3_credentials_parse(t, strlen(t), "x", "T", &ak, &sk, &tok,
                                   &err), TM_EVALIDATION);
    /* the last line without its newline */
    t = "[x]\naws_access_key_id=1\naws_secret_access_key=2";
    ASSERT_EQ(s3_credentials_parse(t, strlen(t), "x", "T", &ak, &sk, &tok,
                                   &err), 0);
    ASSERT_STR_EQ(sk, "2");
    free3(ak, sk, tok);
}

/* ---- keys and encoding --------------------------------------------------- */

static void enc(const char *s, int keep_slash, const char *want)
{
    struct buf b;

    buf_init(&b, 1 << 16);
    s3_uri_encode(&b, s, strlen(s), keep_slash);
    buf_putc(&b, '\0');
    if (strcmp((char *)b.data, want) != 0)
        fprintf(stderr, "encode \"%s\": \"%s\" != \"%s\"\n", s,
                (char *)b.data, want);
    test__cur_failed |= strcmp((char *)b.data, want) != 0;
    buf_free(&b);
}

static void test_uri_encode(void)
{
    enc("a/b/c:d$e-f", 1, "a/b/c%3Ad%24e-f");
    enc("a/b/c:d$e-f", 0, "a%2Fb%2Fc%3Ad%24e-f");
    enc("AZaz09-._~", 1, "AZaz09-._~");
    enc("sp ace+plus&amp=eq?q#h%p", 1,
        "sp%20ace%2Bplus%26amp%3Deq%3Fq%23h%25p");
    enc("\xc3\xa9t\xc3\xa9", 1, "%C3%A9t%C3%A9");
    enc("t/$DeletedTableBackup:2026-11-25T10:00:00Z", 1,
        "t/%24DeletedTableBackup%3A2026-11-25T10%3A00%3A00Z");
    enc("", 1, "");
}

static void test_key_check(void)
{
    char long_key[S3_KEY_MAX + 2];
    struct tm_error err = {0};

    ASSERT_EQ(s3_key_check("a", "key", 0, &err), 0);
    ASSERT_EQ(s3_key_check("a/b/c:d$e-f g+&", "key", 0, &err), 0);
    ASSERT_EQ(s3_key_check("a/.b/..c/x.", "key", 0, &err), 0);
    ASSERT_EQ(s3_key_check("", "prefix", 1, &err), 0);
    ASSERT_EQ(s3_key_check("", "key", 0, &err), TM_EVALIDATION);
    ASSERT(strstr(err.msg, "S3 key is empty") != NULL);
    ASSERT_EQ(s3_key_check("/a", "key", 0, &err), TM_EVALIDATION);
    ASSERT_EQ(s3_key_check("a/", "key", 0, &err), TM_EVALIDATION);
    ASSERT_EQ(s3_key_check("a//b", "key", 0, &err), TM_EVALIDATION);
    ASSERT_EQ(s3_key_check("a/./b", "key", 0, &err), TM_EVALIDATION);
    ASSERT_EQ(s3_key_check("..", "key", 0, &err), TM_EVALIDATION);
    ASSERT_EQ(s3_key_check("a\nb", "key", 0, &err), TM_EVALIDATION);
    ASSERT_EQ(s3_key_check("a\x7f", "key", 0, &err), TM_EVALIDATION);
    memset(long_key, 'k', S3_KEY_MAX);
    long_key[S3_KEY_MAX] = '\0';
    ASSERT_EQ(s3_key_check(long_key, "key", 0, &err), 0);
    long_key[S3_KEY_MAX] = 'k';
    long_key[S3_KEY_MAX + 1] = '\0';
    ASSERT_EQ(s3_key_check(long_key, "key", 0, &err), TM_EVALIDATION);
    ASSERT(strstr(err.msg, "1025 bytes") != NULL);
    ASSERT(s3_bucket_name_ok("abc", 3));
    ASSERT(!s3_bucket_name_ok("a..", 3));
}

/* ---- XML ----------------------------------------------------------------- */

static void test_xml_next(void)
{
    const char *x = "<R><KeyCount>2</KeyCount><Key a=\"1\">k1</Key>"
                    "<Key/><Key>k&amp;3</Key ><Keys>no</Keys></R>";
    size_t pos = 0, n;
    const char *v;

    ASSERT_EQ(s3_xml_next(x, strlen(x), &pos, "Key", &v, &n), 1);
    ASSERT_EQ(n, 2);
    ASSERT_MEM_EQ(v, "k1", 2);
    ASSERT_EQ(s3_xml_next(x, strlen(x), &pos, "Key", &v, &n), 1);
    ASSERT_EQ(n, 0);
    ASSERT_EQ(s3_xml_next(x, strlen(x), &pos, "Key", &v, &n), 1);
    ASSERT_EQ(n, 7);
    ASSERT_MEM_EQ(v, "k&amp;3", 7);
    ASSERT_EQ(s3_xml_next(x, strlen(x), &pos, "Key", &v, &n), 0);
    pos = 0;
    ASSERT_EQ(s3_xml_next(x, strlen(x), &pos, "KeyCount", &v, &n), 1);
    ASSERT_MEM_EQ(v, "2", 1);
    /* not closed, or cut inside the tag */
    pos = 0;
    ASSERT_EQ(s3_xml_next("<A>x</B>", 8, &pos, "A", &v, &n), 0);
    pos = 0;
    ASSERT_EQ(s3_xml_next("<A", 2, &pos, "A", &v, &n), 0);
    pos = 0;
    ASSERT_EQ(s3_xml_next("<A>x</A", 7, &pos, "A", &v, &n), 0);
}

static void unesc(const char *s, const char *want)
{
    struct buf b;

    buf_init(&b, 1 << 16);
    s3_xml_unescape(&b, s, strlen(s));
    buf_putc(&b, '\0');
    if (strcmp((char *)b.data, want) != 0)
        fprintf(stderr, "unescape \"%s\": \"%s\" != \"%s\"\n", s,
                (char *)b.data, want);
    test__cur_failed |= strcmp((char *)b.data, want) != 0;
    buf_free(&b);
}

static void test_xml_unescape(void)
{
    unesc("a&amp;b&lt;c&gt;d&quot;e&apos;f", "a&b<c>d\"e'f");
    unesc("&#38;&#x41;&#X42;&#233;&#x1F600;", "&AB\xc3\xa9\xf0\x9f\x98\x80");
    unesc("&nbsp; & &; &#; &#x; &#0; &#xD800; &#x110000; &amp",
          "&nbsp; & &; &#; &#x; &#0; &#xD800; &#x110000; &amp");
    unesc("&&amp;", "&&");
    unesc("", "");
}

static void test_xml_error_and_escape(void)
{
    const char *x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error>"
                    "<Code>NoSuchKey</Code><Message>The key &quot;a&amp;b"
                    "&quot; does not exist</Message><RequestId>tx1"
                    "</RequestId></Error>";
    char code[64], msg[256], small[6];
    struct buf b;

    ASSERT_EQ(s3_xml_text(x, strlen(x), "Code", code, sizeof code), 1);
    ASSERT_STR_EQ(code, "NoSuchKey");
    ASSERT_EQ(s3_xml_text(x, strlen(x), "Message", msg, sizeof msg), 1);
    ASSERT_STR_EQ(msg, "The key \"a&b\" does not exist");
    ASSERT_EQ(s3_xml_text(x, strlen(x), "Message", small, sizeof small), 1);
    ASSERT_STR_EQ(small, "The k");
    ASSERT_EQ(s3_xml_text(x, strlen(x), "Resource", msg, sizeof msg), 0);
    ASSERT_STR_EQ(msg, "");
    ASSERT_EQ(s3_xml_text("", 0, "Code", code, sizeof code), 0);
    /* entities shrink: cut after unescaping, never inside an entity */
    x = "<C>&amp;&amp;&amp;&amp;&amp;&amp;&amp;&amp;&lt;</C>";
    ASSERT_EQ(s3_xml_text(x, strlen(x), "C", small, sizeof small), 1);
    ASSERT_STR_EQ(small, "&&&&&");
    ASSERT_EQ(s3_xml_text(x, strlen(x), "C", msg, sizeof msg), 1);
    ASSERT_STR_EQ(msg, "&&&&&&&&<");

    buf_init(&b, 1024);
    ASSERT_EQ(s3_xml_escape(&b, "a&b<c>\"'"), 0);
    ASSERT_EQ(b.len, strlen("a&amp;b&lt;c&gt;&quot;&apos;"));
    ASSERT_MEM_EQ(b.data, "a&amp;b&lt;c&gt;&quot;&apos;", b.len);
    buf_free(&b);
}

struct seen {
    char keys[8][64];
    uint64_t sizes[8];
    int n;
    int stop_at;
};

static int seen_cb(void *ctx, const char *key, uint64_t size)
{
    struct seen *s = ctx;

    if (s->n == s->stop_at)
        return 42;
    if (s->n < 8) {
        snprintf(s->keys[s->n], sizeof s->keys[0], "%s", key);
        s->sizes[s->n] = size;
    }
    s->n++;
    return 0;
}

static void test_xml_list_page(void)
{
    /* the shape RGW 16 answers with */
    const char *page =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult xmlns="
        "\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name><Prefix>"
        "p/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>"
        "true</IsTruncated><Contents><Key>p/a/b/c:d$e-f g+&amp;</Key>"
        "<LastModified>2026-11-25T17:32:51.048Z</LastModified><ETag>&quot;"
        "b1946ac92492d2347c6235b4d2611184&quot;</ETag><Size>6</Size>"
        "<StorageClass>STANDARD</StorageClass></Contents><Contents><Key>"
        "p/z&#x20;&lt;</Key><Size>18446744073709551615</Size></Contents>"
        "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="
        "</NextContinuationToken></ListBucketResult>";
    struct tm_error err = {0};
    struct seen s = {.stop_at = -1};
    char *next = NULL;
    int trunc = 0;

    ASSERT_EQ(s3_xml_list_page(page, strlen(page), seen_cb, &s, &trunc, &next,
                               &err), 0);
    ASSERT_EQ(s.n, 2);
    ASSERT_STR_EQ(s.keys[0], "p/a/b/c:d$e-f g+&");
    ASSERT_EQ(s.sizes[0], 6);
    ASSERT_STR_EQ(s.keys[1], "p/z <");
    ASSERT(s.sizes[1] == UINT64_MAX);
    ASSERT_EQ(trunc, 1);
    ASSERT_STR_EQ(next, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
    free(next);

    /* the callback's value stops the walk and comes back as is */
    s.n = 0;
    s.stop_at = 1;
    ASSERT_EQ(s3_xml_list_page(page, strlen(page), seen_cb, &s, &trunc, &next,
                               &err), 42);
    ASSERT(next == NULL);

    /* the last page, an empty page */
    s.n = 0;
    s.stop_at = -1;
    page = "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>"
           "k</Key><Size>0</Size></Contents></ListBucketResult>";
    ASSERT_EQ(s3_xml_list_page(page, strlen(page), seen_cb, &s, &trunc, &next,
                               &err), 0);
    ASSERT_EQ(s.n, 1);
    ASSERT_EQ(trunc, 0);
    ASSERT(next == NULL);
    page = "<ListBucketResult><KeyCount>0</KeyCount></ListBucketResult>";
    ASSERT_EQ(s3_xml_list_page(page, strlen(page), seen_cb, &s, &trunc, &next,
                               &err), 0);

    /* broken answers */
    page = "<L><IsTruncated>true</IsTruncated></L>";
    ASSERT_EQ(s3_xml_list_page(page, strlen(page), seen_cb, &s, &trunc, &next,
                               &err), TM_EIO);
    ASSERT(strstr(err.msg, "NextContinuationToken") != NULL);
    page = "<L><Contents><Size>1</Size></Contents></L>";
    ASSERT_EQ(s3_xml_list_page(page, strlen(page), seen_cb, &s, &trunc, &next,
                               &err), TM_EIO);
    page = "<L><Contents><Key>k</Key><Size>-1</Size></Contents></L>";
    ASSERT_EQ(s3_xml_list_page(page, strlen(page), seen_cb, &s, &trunc, &next,
                               &err), TM_EIO);
    ASSERT(strstr(err.msg, "\"k\" has no valid <Size>") != NULL);
    page = "<L><Contents><Key>k</Key><Size>18446744073709551616</Size>"
           "</Contents></L>";
    ASSERT_EQ(s3_xml_list_page(page, strlen(page), seen_cb, &s, &trunc, &next,
                               &err), TM_EIO);
}

/* ---- ETags --------------------------------------------------------------- */

static void md5(const char *s, uint8_t out[16])
{
    unsigned n = 0;

    EVP_Digest(s, strlen(s), out, &n, EVP_md5(), NULL);
}

static void test_etag(void)
{
    uint8_t parts[3][16];
    char e[S3_ETAG_MAX];

    /* expected values from Python: hashlib.md5(b"".join(
     * hashlib.md5(p).digest() for p in parts)).hexdigest() + "-3" */
    md5("hello world", parts[0]);
    s3_etag_compute((const uint8_t(*)[16])parts, 1, 0, e);
    ASSERT_STR_EQ(e, "5eb63bbbe01eeed093cb22bb8f5acdc3");
    md5("part1", parts[0]);
    md5("part2", parts[1]);
    md5("part3", parts[2]);
    s3_etag_compute((const uint8_t(*)[16])parts, 3, 1, e);
    ASSERT_STR_EQ(e, "5e9583dc343a55b829d3b99070a10015-3");
    md5("only", parts[0]);
    s3_etag_compute((const uint8_t(*)[16])parts, 1, 1, e);
    ASSERT_STR_EQ(e, "ea62d57755f34c46eea7035b29d5fc46-1");

    ASSERT(s3_etag_equal("\"5E9583DC343A55B829D3B99070A10015-3\"",
                         "5e9583dc343a55b829d3b99070a10015-3"));
    ASSERT(!s3_etag_equal("5e9583dc343a55b829d3b99070a10015-2",
                          "5e9583dc343a55b829d3b99070a10015-3"));
    ASSERT(!s3_etag_equal("", ""));
    ASSERT(!s3_etag_equal("\"\"", ""));
    s3_etag_clean(" \"abc\"\r\n", 8, e);
    ASSERT_STR_EQ(e, "abc");
    s3_etag_clean("W", 1, e);
    ASSERT_STR_EQ(e, "W");
}

/* ---- retry policy -------------------------------------------------------- */

static void test_backoff(void)
{
    for (int a = 1; a <= 12; a++) {
        unsigned d = a >= 7 ? 5000 : 100u << (a - 1);
        if (d > 5000)
            d = 5000;
        ASSERT_EQ(s3_backoff_ms(a, 0), d / 2);
        ASSERT_EQ(s3_backoff_ms(a, d / 2), d);
        for (uint64_t r = 1; r < 4000000000u; r = r * 3 + 7) {
            unsigned w = s3_backoff_ms(a, (uint32_t)r);
            ASSERT(w >= d / 2 && w <= d);
        }
    }
    ASSERT_EQ(s3_backoff_ms(1, 0), 50);
    ASSERT_EQ(s3_backoff_ms(100, 0xffffffffu) <= 5000, 1);
    ASSERT_EQ(s3_backoff_ms(0, 0), 50);
}

static void test_retryable(void)
{
    ASSERT(s3_http_retryable(500, "InternalError"));
    ASSERT(s3_http_retryable(502, ""));
    ASSERT(s3_http_retryable(503, "SlowDown"));
    ASSERT(s3_http_retryable(504, ""));
    ASSERT(s3_http_retryable(429, ""));
    ASSERT(s3_http_retryable(400, "RequestTimeout"));
    ASSERT(s3_http_retryable(200, "InternalError"));
    ASSERT(!s3_http_retryable(501, "NotImplemented"));
    ASSERT(!s3_http_retryable(400, "InvalidArgument"));
    ASSERT(!s3_http_retryable(403, "SignatureDoesNotMatch"));
    ASSERT(!s3_http_retryable(404, "NoSuchKey"));
    ASSERT_STR_EQ(s3_error_hint(403, "SignatureDoesNotMatch"),
                  "check the access key and secret");
    ASSERT(strstr(s3_error_hint(404, "NoSuchBucket"), "create the bucket"));
    ASSERT(strstr(s3_error_hint(403, ""), "credentials") != NULL);
    ASSERT(strstr(s3_error_hint(500, ""), "try again later") != NULL);
    ASSERT_STR_EQ(s3_error_hint(400, "InvalidArgument"), "");
    ASSERT_EQ(tm_err_status(TM_ENOOBJECT), 500);
    ASSERT_STR_EQ(tm_err_name(TM_ENOOBJECT), "InternalServerError");
    ASSERT_STR_EQ(tm_strerror(TM_ENOOBJECT), "TM_ENOOBJECT");
}

/* ---- the client without a store ------------------------------------------ */

static struct s3_config base_cfg(void)
{
    struct s3_config c = {
        .endpoint = "http://127.0.0.1:7480/",
        .access_key = "AKID",
        .secret_key = "SECRET",
        .bucket = "bucket",
        .prefix = "a/b",
    };
    return c;
}

static void expect_bad(struct s3_config cfg, const char *says)
{
    struct tm_error err = {0};
    struct s3_client *c = (struct s3_client *)&err;

    if (s3_client_new(&cfg, &c, &err) != TM_EVALIDATION || c != NULL ||
        strstr(err.msg, says) == NULL) {
        fprintf(stderr, "expected TM_EVALIDATION with \"%s\", got \"%s\"\n",
                says, err.msg);
        test__cur_failed = 1;
        s3_client_free(c);
    }
}

static void test_client_config(void)
{
    struct s3_config cfg = base_cfg();
    struct tm_error err = {0};
    struct s3_client *c = NULL;
    char name[256], path[128];

    clear_aws_env();
    ASSERT_EQ(s3_client_new(&cfg, &c, &err), 0);
    ASSERT_STR_EQ(s3_describe(c, "x/y:1", name, sizeof name),
                  "s3://bucket/a/b/x/y:1");
    ASSERT_STR_EQ(s3_describe(c, NULL, name, sizeof name), "s3://bucket/a/b/");
    ASSERT_STR_EQ(s3_describe(c, "x", name, 8), "s3://bu");
    /* bad keys fail before any network */
    ASSERT_EQ(s3_put_mem(c, "/x", "", 0, &err), TM_EVALIDATION);
    ASSERT_EQ(s3_delete(c, "", &err), TM_EVALIDATION);
    {
        char k[S3_KEY_MAX];
        memset(k, 'k', sizeof k - 1);
        k[sizeof k - 1] = '\0';
        ASSERT_EQ(s3_head(c, k, NULL, NULL, &err), TM_EVALIDATION);
        ASSERT(strstr(err.msg, "with prefix \"a/b\" is longer") != NULL);
    }
    snprintf(path, sizeof path, "%s/does-not-exist", tmpdir);
    ASSERT_EQ(s3_put_file(c, "x", path, NULL, NULL, &err), TM_EIO);
    ASSERT(strstr(err.msg, path) != NULL);
    ASSERT(strstr(err.msg, "No such file") != NULL);
    snprintf(path, sizeof path, "%s/no-dir/file", tmpdir);
    ASSERT_EQ(s3_get_file(c, "x", path, &err), TM_EIO);
    ASSERT(strstr(err.msg, "cannot create") != NULL);
    s3_client_free(c);
    s3_client_free(NULL);

    cfg = base_cfg();
    cfg.endpoint = "127.0.0.1:7480";
    expect_bad(cfg, "is not an http:// or https:// URL (--s3-endpoint)");
    cfg.endpoint = "http://";
    expect_bad(cfg, "is not an http");
    cfg.endpoint = NULL;
    expect_bad(cfg, "\"(none)\"");
    cfg = base_cfg();
    cfg.bucket = "No_Such";
    expect_bad(cfg, "bucket name \"No_Such\" is not valid");
    cfg = base_cfg();
    cfg.prefix = "/a";
    expect_bad(cfg, "S3 prefix \"/a\" must not start or end with '/'");
    cfg = base_cfg();
    cfg.part_bytes = 1024 * 1024;
    expect_bad(cfg, "part size 1048576 bytes is out of range");
    cfg = base_cfg();
    cfg.max_attempts = -1;
    expect_bad(cfg, "max_attempts -1");
    cfg = base_cfg();
    cfg.secret_key = NULL;
    expect_bad(cfg, "without a secret key");

    /* no keys given: from the environment, or a clear error */
    cfg = base_cfg();
    cfg.access_key = cfg.secret_key = NULL;
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
    expect_bad(cfg, "/nonexistent/credentials does not exist");
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "SENV", 1);
    setenv("AWS_REGION", "eu-west-3", 1);
    ASSERT_EQ(s3_client_new(&cfg, &c, &err), 0);
    s3_client_free(c);
    clear_aws_env();

    /* a smaller part size, for tests */
    s3_test_set_min_part(1024);
    cfg = base_cfg();
    cfg.part_bytes = 1024;
    ASSERT_EQ(s3_client_new(&cfg, &c, &err), 0);
    s3_client_free(c);
    s3_test_set_min_part(0);
}

/* A port on 127.0.0.1 with nothing listening (bound, then closed). */
static int closed_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        return 1;
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_endpoint_down(void)
{
    struct s3_config cfg = base_cfg();
    struct tm_error err = {0};
    struct s3_client *c = NULL;
    char ep[64];
    struct buf b;
    double t0, dt;

    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", closed_port());
    cfg.endpoint = ep;
    cfg.max_attempts = 3;
    ASSERT_EQ(s3_client_new(&cfg, &c, &err), 0);
    buf_init(&b, 1024);
    t0 = now_s();
    ASSERT_EQ(s3_get_mem(c, "k", &b, &err), TM_EUNAVAILABLE);
    dt = now_s() - t0;
    ASSERT_EQ(s3_test_last_attempts(c), 3);
    /* two waits: 50..100 ms, then 100..200 ms */
    if (dt < 0.14 || dt > 5.0)
        TEST_FAIL_("3 attempts took %.3f s", dt);
    if (strstr(err.msg, "cannot reach S3 endpoint") == NULL ||
        strstr(err.msg, ep) == NULL ||
        strstr(err.msg, "Connection refused") == NULL ||
        strstr(err.msg, "--s3-endpoint") == NULL ||
        strstr(err.msg, "after 3 attempts") == NULL ||
        strstr(err.msg, "s3://bucket/a/b/k") == NULL)
        TEST_FAIL_("message: %s", err.msg);
    buf_free(&b);
    s3_client_free(c);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_s3.XXXXXX");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    RUN(test_parse_url_ok);
    RUN(test_parse_url_bad);
    RUN(test_credentials_env);
    RUN(test_credentials_file);
    RUN(test_credentials_parse);
    RUN(test_uri_encode);
    RUN(test_key_check);
    RUN(test_xml_next);
    RUN(test_xml_unescape);
    RUN(test_xml_error_and_escape);
    RUN(test_xml_list_page);
    RUN(test_etag);
    RUN(test_backoff);
    RUN(test_retryable);
    RUN(test_client_config);
    RUN(test_endpoint_down);
    {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmpdir);
    }
    return TEST_DONE();
}
