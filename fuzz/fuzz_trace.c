/*
 * libFuzzer harness for src/trace.c: vn_trace_redact, the pure function the
 * verbose trace goes through.  Input: byte 0 = token length (mapped to
 * [A-Za-z0-9], as real tokens), then the token, then trace text.
 *
 * Checks (abort on failure): the token never appears in the output (unless
 * it is a substring of the marker itself), where a token shorter than
 * VN_REDACT_ANYWHERE may stay inside a word (a letter or digit touching it); on every output line holding an
 * "authorization" field (any case, Proxy- too, h2 "[authorization: ...]"),
 * what follows the colon is only the marker (with the "]" and "\r" kept).
 */
#include "harness.h"

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static const char *find_auth(const char *s, size_t n, size_t *after) {
  static const char word[] = "authorization";
  size_t i, k, wn = sizeof word - 1;
  for (i = 0; i + wn <= n; i++) {
    for (k = 0; k < wn && lower((unsigned char)s[i + k]) == word[k]; k++) {
    }
    if (k == wn) {
      size_t j = i + wn;
      while (j < n && (s[j] == ' ' || s[j] == '\t')) j++;
      if (j < n && s[j] == ':') {
        *after = j + 1;
        return s + i;
      }
    }
  }
  return NULL;
}

static int alnum(int c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* Whether needle is in h; with words, only as a word of its own. */
static int contains_as(const char *h, size_t hn, const char *needle, size_t nn, int words) {
  size_t i;
  if (nn == 0 || nn > hn) return 0;
  for (i = 0; i + nn <= hn; i++)
    if (memcmp(h + i, needle, nn) == 0 &&
        (!words || ((i == 0 || !alnum((unsigned char)h[i - 1])) && (i + nn == hn || !alnum((unsigned char)h[i + nn])))))
      return 1;
  return 0;
}
#define contains(h, hn, needle, nn) contains_as(h, hn, needle, nn, 0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  char token[64];
  size_t tokn = 0, i;
  vn_buffer out = {NULL, 0, 0};
  if (size == 0) return 0;
  tokn = data[0] % 33;
  data++, size--;
  if (tokn > size) tokn = size;
  for (i = 0; i < tokn; i++) token[i] = alnum[data[i] % (sizeof alnum - 1)];
  data += tokn, size -= tokn;
  if (!vn_trace_redact((const char *)data, size, token, tokn, 1, &out)) return 0;
  if (getenv("VINANO_FUZZ_VERBOSE")) fprintf(stderr, "token '%.*s' -> %.*s\n", (int)tokn, token, (int)out.len, out.data);
  if (tokn > 0 && !contains("<redacted>", 10, token, tokn))
    VN_CHECK(!contains_as(out.data, out.len, token, tokn, tokn < VN_REDACT_ANYWHERE), "the token is in the output");
  for (i = 0; i < out.len;) {
    const char *line = out.data + i;
    const char *nl = (const char *)memchr(line, '\n', out.len - i);
    size_t len = nl ? (size_t)(nl - line) : out.len - i, after;
    if (find_auth(line, len, &after)) {
      const char *v = line + after;
      size_t vn = len - after;
      int ok = (vn == 11 && memcmp(v, " <redacted>", 11) == 0) || (vn == 12 && memcmp(v, " <redacted>]", 12) == 0) ||
               (vn == 12 && memcmp(v, " <redacted>\r", 12) == 0) || (vn == 13 && memcmp(v, " <redacted>]\r", 13) == 0);
      VN_CHECK(ok, "an authorization value is in the output");
    }
    i += len + 1;
  }
  vn_buffer_free(&out);
  return 0;
}
