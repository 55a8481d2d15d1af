/*
 * lexer.c - the tokens of DynamoDB's expression language.
 *
 * One lexer serves every expression kind; the parser decides what a token
 * means where it stands (a NAME may be an attribute, a keyword such as
 * AND/BETWEEN/SET, or a function name).  The rules, as DynamoDB applies
 * them:
 *   - attribute names: a letter, then letters, digits or '_' ("_x" is a
 *     syntax error on token "_"); anything else needs a #placeholder
 *   - #name and :value placeholders: the sigil then letters, digits, '_'
 *   - numbers are not literals (values come only through :placeholders);
 *     digits only appear as list indexes, a[2]
 *   - operators = <> < <= > >= + -, punctuation ( ) [ ] , .
 *   - any other character is a token of its own (a whole UTF-8 sequence),
 *     so that the syntax error names it: token: "!", near: "!!"
 *
 * Tokens keep their byte range in the source, from which the parser builds
 * "near" strings.  Thread-safe: pure function over the arena.
 */
#include "expr/expr_int.h"

#include <string.h>

static int is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int is_word(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == '_';
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Length of the token starting at s[i] and its kind. */
static size_t scan(const unsigned char *s, size_t n, size_t i, uint8_t *kind)
{
    unsigned char c = s[i];
    size_t j = i + 1;

    if (is_alpha(c)) {
        while (j < n && is_word(s[j]))
            j++;
        *kind = ET_NAME;
        return j - i;
    }
    if (is_digit(c)) {
        while (j < n && is_digit(s[j]))
            j++;
        *kind = ET_NUM;
        return j - i;
    }
    if (c == '#' || c == ':') {
        while (j < n && is_word(s[j]))
            j++;
        if (j == i + 1) {
            *kind = ET_BAD;
            return 1;
        }
        *kind = c == '#' ? ET_HASH : ET_COLON;
        return j - i;
    }
    switch (c) {
    case '=': *kind = ET_EQ; return 1;
    case '(': *kind = ET_LP; return 1;
    case ')': *kind = ET_RP; return 1;
    case '[': *kind = ET_LB; return 1;
    case ']': *kind = ET_RB; return 1;
    case ',': *kind = ET_COMMA; return 1;
    case '.': *kind = ET_DOT; return 1;
    case '+': *kind = ET_PLUS; return 1;
    case '-': *kind = ET_MINUS; return 1;
    case '<':
        if (j < n && s[j] == '>') {
            *kind = ET_NE;
            return 2;
        }
        if (j < n && s[j] == '=') {
            *kind = ET_LE;
            return 2;
        }
        *kind = ET_LT;
        return 1;
    case '>':
        if (j < n && s[j] == '=') {
            *kind = ET_GE;
            return 2;
        }
        *kind = ET_GT;
        return 1;
    }
    /* Anything else: one character, a whole UTF-8 sequence if it is one. */
    *kind = ET_BAD;
    if (c >= 0xC0) {
        size_t want = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
        while (want > 0 && j < n && (s[j] & 0xC0) == 0x80) {
            j++;
            want--;
        }
    }
    return j - i;
}

int expr_lex(struct arena *a, const char *src, size_t n,
             struct expr_tok **out, size_t *nout)
{
    const unsigned char *s = (const unsigned char *)src;
    struct expr_tok *t;
    size_t i = 0, k = 0, cap = 16;

    t = arena_alloc(a, cap * sizeof *t);
    if (t == NULL)
        return TM_ENOMEM;
    for (;;) {
        uint8_t kind = ET_EOF;
        size_t len = 0;

        while (i < n && is_space(s[i]))
            i++;
        if (i < n)
            len = scan(s, n, i, &kind);
        if (k == cap) {
            struct expr_tok *nt = arena_alloc(a, 2 * cap * sizeof *t);
            if (nt == NULL)
                return TM_ENOMEM;
            memcpy(nt, t, cap * sizeof *t);
            t = nt;
            cap *= 2;
        }
        t[k].kind = kind;
        t[k].off = (uint32_t)i;
        t[k].len = (uint32_t)len;
        k++;
        if (kind == ET_EOF)
            break;
        i += len;
    }
    *out = t;
    *nout = k;
    return 0;
}

int expr_tok_is(const char *src, const struct expr_tok *t, const char *kw)
{
    size_t i;

    if (t->kind != ET_NAME || strlen(kw) != t->len)
        return 0;
    for (i = 0; i < t->len; i++) {
        char c = src[t->off + i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c != kw[i])
            return 0;
    }
    return 1;
}
