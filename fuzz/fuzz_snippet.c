/*
 * libFuzzer harness for the redaction of server text (src/trace.c):
 * vn_snippet (redact, then cut, then escape: what an error quotes of a
 * body) and vn_trace_redact in both modes (lines, and token only: a JSON
 * body before it is decoded).
 *
 * Input: byte 0 = token length (8..40), the token (mapped to [a-z0-9._~-]),
 * byte = the cut (0..255), then a script: each byte either inserts the
 * token, a line break, "AUTHORIZATION: " or "BEARER ", or adds a filler
 * byte.  Filler bytes are mapped away from the token's alphabet, so every
 * piece of the token in the text came from an insertion.
 *
 * Checks (abort on failure): no piece of the token of 8 or more characters
 * survives in any output (markers set aside); the snippet is well formed
 * (quoted, every byte below 0x20 or above 0x7e, '"' and '\' escaped, then
 * "", "..." or " (empty)"); after an AUTHORIZATION: line in the snippet
 * nothing but the marker follows up to the line's end; where
 * vn_redact_needed says no, the redaction leaves the text as it is.
 */
#include "harness.h"

#define MARK "<redacted>"
#define PIECE 8

static int token_char(int c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '~' || c == '-';
}

/* Aborts when text holds a PIECE-long piece of token outside a marker. */
static void check_no_piece(const char *text, size_t n, const char *token, size_t tokn, const char *what) {
  size_t i, k;
  for (i = 0; i < n; i++) {
    if (i + sizeof MARK - 1 <= n && memcmp(text + i, MARK, sizeof MARK - 1) == 0) {
      i += sizeof MARK - 2;
      continue;
    }
    for (k = 0; k + PIECE <= tokn; k++) {
      if (i + PIECE <= n && memcmp(text + i, token + k, PIECE) == 0) {
        if (getenv("VINANO_FUZZ_VERBOSE")) fprintf(stderr, "%s: %.*s\n", what, (int)n, text);
        VN_CHECK(0, what);
      }
    }
  }
}

/* The snippet unescaped into plain (the redacted text, cut); aborts when it
 * is not well formed. */
static void unescape(const char *s, size_t n, vn_buffer *plain) {
  size_t i = 1;
  VN_CHECK(n >= 2 && s[0] == '"', "the snippet starts with a quote");
  while (i < n && s[i] != '"') {
    unsigned char c = (unsigned char)s[i];
    VN_CHECK(c >= 0x20 && c < 0x7f, "a raw control or non-ASCII byte in the snippet");
    if (c == '\\') {
      VN_CHECK(i + 1 < n, "a dangling backslash");
      if (s[i + 1] == 'x') {
        unsigned v;
        VN_CHECK(i + 3 < n && sscanf(s + i + 2, "%2x", &v) == 1, "a bad \\x escape");
        c = (unsigned char)v;
        i += 4;
      } else {
        VN_CHECK(s[i + 1] == '"' || s[i + 1] == '\\', "an unknown escape");
        c = (unsigned char)s[i + 1];
        i += 2;
      }
    } else {
      i++;
    }
    vn_buffer_add(plain, (const char *)&c, 1);
  }
  VN_CHECK(i < n, "the snippet's closing quote");
  i++;
  VN_CHECK(i == n || (n - i == 3 && memcmp(s + i, "...", 3) == 0) || (n - i == 8 && memcmp(s + i, " (empty)", 8) == 0),
           "what follows the closing quote");
}

/* In plain, an AUTHORIZATION: line holds only the marker (or a cut part of
 * it), and the "]" of an h2/h3 trace line "[authorization: ...]". */
static void check_auth_lines(const char *s, size_t n) {
  static const char word[] = "AUTHORIZATION:";
  size_t i;
  for (i = 0; i + sizeof word - 1 <= n; i++) {
    if (memcmp(s + i, word, sizeof word - 1) == 0) {
      const char *v = s + i + sizeof word - 1;
      size_t left = n - (i + sizeof word - 1), k = 0;
      static const char rest[] = " " MARK "]";
      while (k < left && v[k] != '\n' && v[k] != '\r') k++;
      VN_CHECK(k <= sizeof rest - 1 && memcmp(v, rest, k) == 0,
               "an authorization value in the snippet");
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789._~-";
  char token[40];
  size_t tokn, max, i;
  vn_buffer body = {NULL, 0, 0}, snip = {NULL, 0, 0}, plain = {NULL, 0, 0}, red = {NULL, 0, 0};
  int mode;
  if (size < 2) return 0;
  tokn = PIECE + data[0] % (sizeof token - PIECE + 1);
  data++, size--;
  for (i = 0; i < tokn; i++) token[i] = alphabet[(i < size ? data[i] : i) % (sizeof alphabet - 1)];
  if (size <= tokn) return 0;
  data += tokn, size -= tokn;
  max = data[0];
  data++, size--;
  for (i = 0; i < size; i++) {
    unsigned char b = data[i];
    switch (b) {
      case 0xf0: vn_buffer_add(&body, token, tokn); break;
      case 0xf1: vn_buffer_add(&body, "\n", 1); break;
      case 0xf2: vn_buffer_add(&body, "AUTHORIZATION: ", 15); break;
      case 0xf3: vn_buffer_add(&body, "BEARER ", 7); break;
      default:
        if (token_char(b)) b = (unsigned char)(b ^ 0x80); /* never a token character */
        vn_buffer_add(&body, (const char *)&b, 1);
    }
  }
  if (!vn_snippet(body.data ? body.data : "", body.len, token, tokn, max, &snip)) goto out;
  check_no_piece(snip.data, snip.len, token, tokn, "a piece of the token in the snippet");
  unescape(snip.data, snip.len, &plain);
  check_no_piece(plain.data ? plain.data : "", plain.len, token, tokn, "a piece of the token in the unescaped snippet");
  check_auth_lines(plain.data ? plain.data : "", plain.len);
  for (mode = 0; mode < 2; mode++) {
    red.len = 0;
    if (!vn_trace_redact(body.data ? body.data : "", body.len, token, tokn, mode, &red)) goto out;
    check_no_piece(red.data ? red.data : "", red.len, token, tokn, "a piece of the token in the redacted text");
    if (!vn_redact_needed(body.data ? body.data : "", body.len, token, tokn, mode))
      VN_CHECK(red.len == body.len && (body.len == 0 || memcmp(red.data, body.data, body.len) == 0),
               "vn_redact_needed said no, but the redaction changed the text");
  }
out:
  vn_buffer_free(&body);
  vn_buffer_free(&snip);
  vn_buffer_free(&plain);
  vn_buffer_free(&red);
  return 0;
}
