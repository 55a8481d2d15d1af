/*
 * drv_decimal.c - line-protocol driver over src/item/decimal.c, for the
 * oracle test (tests/unit/test_decimal_oracle.py compares every answer
 * with Python's decimal module).
 *
 * One request per input line, one answer per request, in order.  Fields
 * are separated by single spaces.
 *
 *   parse <text>      <text> is the rest of the line after "parse " (it may
 *                     be empty or contain spaces).  Answer:
 *                       OK <coef> <exp> <neg>   the struct dec fields
 *                       ERR <code>
 *   fmt <text>        Answer: OK <canonical text> | ERR <code>
 *   add <a> <b>       Answer: OK <canonical a+b> <inexact 0|1> | ERR <code>
 *   sub <a> <b>       same for a-b
 *   cmp <a> <b>       Answer: OK <-1|0|1>
 *   key <a> <b>       Answer: OK <-1|0|1>, the memcmp order of the two key
 *                     encodings (shorter first on a common prefix), after
 *                     checking that each decodes back to its value
 *                     (KEYBAD otherwise)
 *
 * <code> is SYNTAX, PRECISION, OVERFLOW or UNDERFLOW.  For the binary
 * operations both operands must parse; otherwise the answer is
 * "BADARG <code>".  An unknown operation answers "BADOP".
 */
#include "item/decimal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *code_name(int rc)
{
    switch (rc) {
    case DEC_ESYNTAX: return "SYNTAX";
    case DEC_EPRECISION: return "PRECISION";
    case DEC_EOVERFLOW: return "OVERFLOW";
    case DEC_EUNDERFLOW: return "UNDERFLOW";
    default: return "UNKNOWN";
    }
}

static void print_u128(unsigned __int128 v)
{
    char buf[48];
    int n = 0;

    do {
        buf[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v != 0);
    while (n > 0)
        putchar(buf[--n]);
}

static void do_parse(const char *s, size_t n)
{
    struct dec d;
    int rc = dec_parse(s, n, &d);

    if (rc != DEC_OK) {
        printf("ERR %s\n", code_name(rc));
        return;
    }
    fputs("OK ", stdout);
    print_u128(d.coef);
    printf(" %d %d\n", (int)d.exp, (int)d.neg);
}

static void do_fmt(const char *s, size_t n)
{
    struct dec d;
    char out[DEC_STR_MAX];
    int rc = dec_parse(s, n, &d);

    if (rc != DEC_OK) {
        printf("ERR %s\n", code_name(rc));
        return;
    }
    dec_format(&d, out, sizeof(out));
    printf("OK %s\n", out);
}

static int key_order(const struct dec *a, const struct dec *b)
{
    uint8_t ka[DEC_KEY_MAX], kb[DEC_KEY_MAX];
    size_t na = dec_key_encode(a, ka), nb = dec_key_encode(b, kb);
    struct dec back;
    int c;

    if (dec_key_decode(ka, na, &back) != na || dec_cmp(a, &back) != 0 ||
        dec_key_decode(kb, nb, &back) != nb || dec_cmp(b, &back) != 0)
        return 2;
    c = memcmp(ka, kb, na < nb ? na : nb);
    if (c == 0)
        return (na > nb) - (na < nb);
    return c < 0 ? -1 : 1;
}

static void do_binary(const char *op, const char *sa, const char *sb)
{
    struct dec a, b, r;
    char out[DEC_STR_MAX];
    int rc, inexact = 0, k;

    rc = dec_parse(sa, strlen(sa), &a);
    if (rc == DEC_OK)
        rc = dec_parse(sb, strlen(sb), &b);
    if (rc != DEC_OK) {
        printf("BADARG %s\n", code_name(rc));
        return;
    }
    if (strcmp(op, "cmp") == 0) {
        printf("OK %d\n", dec_cmp(&a, &b));
        return;
    }
    if (strcmp(op, "key") == 0) {
        k = key_order(&a, &b);
        if (k == 2)
            puts("KEYBAD");
        else
            printf("OK %d\n", k);
        return;
    }
    if (strcmp(op, "add") == 0)
        rc = dec_add(&a, &b, &r, &inexact);
    else if (strcmp(op, "sub") == 0)
        rc = dec_sub(&a, &b, &r, &inexact);
    else {
        puts("BADOP");
        return;
    }
    if (rc != DEC_OK) {
        printf("ERR %s\n", code_name(rc));
        return;
    }
    dec_format(&r, out, sizeof(out));
    printf("OK %s %d\n", out, inexact);
}

static void handle(char *line, size_t len)
{
    char *sp = memchr(line, ' ', len), *sp2;

    if (sp == NULL) {
        puts("BADOP");
        return;
    }
    *sp = '\0';
    if (strcmp(line, "parse") == 0) {
        do_parse(sp + 1, len - (size_t)(sp + 1 - line));
        return;
    }
    if (strcmp(line, "fmt") == 0) {
        do_fmt(sp + 1, len - (size_t)(sp + 1 - line));
        return;
    }
    sp2 = strchr(sp + 1, ' ');
    if (sp2 == NULL) {
        puts("BADOP");
        return;
    }
    *sp2 = '\0';
    do_binary(line, sp + 1, sp2 + 1);
}

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    static char obuf[1 << 16];
    setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        size_t len = (size_t)n;

        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        handle(line, len);
    }
    free(line);
    fflush(stdout);
    return 0;
}
