/*
 * The secrets taken out of text: libcurl's verbose trace on its way to
 * stderr, and whatever a server sent back (bodies, headers, the snippets
 * quoted in errors).  vn_trace_redact and vn_snippet are pure functions
 * (fuzzed: fuzz_trace.c, fuzz_snippet.c).
 */
#include <stdio.h>
#include <string.h>

#include "vinano.h"

#define MARK "<redacted>"

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* Offset just after the ':' of an "authorization" field name in line, or 0.
 * Matches Authorization and Proxy-Authorization (and h2/h3 "[authorization:"). */
static size_t auth_value_at(const char *s, size_t n) {
  static const char word[] = "authorization";
  const size_t wn = sizeof word - 1;
  size_t i, k;
  for (i = 0; i + wn <= n; i++) {
    for (k = 0; k < wn && lower((unsigned char)s[i + k]) == word[k]; k++) {
    }
    if (k == wn) {
      size_t j = i + wn;
      while (j < n && (s[j] == ' ' || s[j] == '\t')) j++;
      if (j < n && s[j] == ':') return j + 1;
    }
  }
  return 0;
}

static int is_alnum(int c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* Whether the token at s[i..i+tokn) of s[0..n) is to be hidden.  A token of
 * VN_REDACT_ANYWHERE bytes or more is hidden wherever it appears; a shorter
 * one (test tokens such as "t") only as a word of its own, so that "invalid
 * API token" stays readable while "Bearer t" and "token=t" are still hidden. */
static int hidden_at(const char *s, size_t n, size_t i, size_t tokn) {
  if (tokn >= VN_REDACT_ANYWHERE) return 1;
  return (i == 0 || !is_alnum((unsigned char)s[i - 1])) && (i + tokn == n || !is_alnum((unsigned char)s[i + tokn]));
}

/* Copies s[0..n) replacing every occurrence of token (hidden_at's rule). */
static int add_masked(vn_buffer *out, const char *s, size_t n, const char *token, size_t tokn) {
  size_t i = 0, start = 0;
  if (tokn == 0) return vn_buffer_add(out, s, n);
  while (i + tokn <= n) {
    if (s[i] == token[0] && memcmp(s + i, token, tokn) == 0 && hidden_at(s, n, i, tokn)) {
      if (!vn_buffer_add(out, s + start, i - start) || !vn_buffer_add(out, MARK, sizeof MARK - 1)) return 0;
      i += tokn;
      start = i;
    } else {
      i++;
    }
  }
  return vn_buffer_add(out, s + start, n - start);
}

/* Whether s[0..n) holds the token, or (lines) "authorization" in any case:
 * what vn_trace_redact could change.  No false "no": the common answer, a
 * body or header block with nothing to hide, costs one pass and no copy. */
int vn_redact_needed(const char *s, size_t n, const char *token, size_t tokn, int lines) {
  static const char word[] = "authorization";
  const size_t wn = sizeof word - 1;
  size_t i, k;
  if (token && tokn > 0 && tokn <= n) {
    for (i = 0; i + tokn <= n; i++) {
      const char *p = (const char *)memchr(s + i, token[0], n - tokn + 1 - i);
      if (!p) break;
      i = (size_t)(p - s);
      if (memcmp(p, token, tokn) == 0) return 1;
    }
  }
  if (lines) {
    for (i = 0; i + wn <= n; i++) {
      if ((s[i] | 0x20) != 'a') continue;
      for (k = 1; k < wn && lower((unsigned char)s[i + k]) == word[k]; k++) {
      }
      if (k == wn) return 1;
    }
  }
  return 0;
}

int vn_trace_redact(const char *in, size_t n, const char *token, size_t tokn, int lines, vn_buffer *out) {
  size_t i = 0;
  if (!token) tokn = 0;
  if (!lines) return add_masked(out, in, n, token, tokn);
  while (i < n) {
    const char *line = in + i;
    const char *nl = (const char *)memchr(line, '\n', n - i);
    size_t len = nl ? (size_t)(nl - line) : n - i; /* without the '\n' */
    size_t v = auth_value_at(line, len);
    if (v) {
      size_t end = len;
      int cr = 0, bracket = 0;
      if (end > v && line[end - 1] == '\r') cr = 1, end--;
      if (end > v && line[end - 1] == ']') bracket = 1;
      if (!add_masked(out, line, v, token, tokn) || !vn_buffer_add(out, " " MARK, sizeof MARK) ||
          (bracket && !vn_buffer_add(out, "]", 1)) || (cr && !vn_buffer_add(out, "\r", 1)))
        return 0;
    } else if (!add_masked(out, line, len, token, tokn)) {
      return 0;
    }
    if (nl && !vn_buffer_add(out, "\n", 1)) return 0;
    i += len + (nl ? 1 : 0);
  }
  return 1;
}

/* The cut never ends inside a marker: a marker's prefix is dropped, so that
 * no run of 8 letters ("redacted") is left that a token could contain. */
static size_t cut_at(const char *s, size_t n, size_t max) {
  size_t k;
  if (n <= max) return n;
  for (k = max > sizeof MARK - 2 ? max - (sizeof MARK - 2) : 0; k < max && k + sizeof MARK - 1 <= n; k++)
    if (memcmp(s + k, MARK, sizeof MARK - 1) == 0) return k;
  return max;
}

int vn_snippet(const char *in, size_t n, const char *token, size_t tokn, size_t max, vn_buffer *out) {
  static const char hex[] = "0123456789abcdef";
  vn_buffer clean = {NULL, 0, 0};
  size_t i, len;
  int ok;
  /* redact first, then cut: a token across the cut is still whole here */
  if (!vn_trace_redact(in, n, token, tokn, 1, &clean)) return 0;
  len = cut_at(clean.data, clean.len, max);
  ok = vn_buffer_add(out, "\"", 1);
  for (i = 0; ok && i < len; i++) {
    unsigned char c = (unsigned char)clean.data[i];
    if (c == '"' || c == '\\') {
      char esc[2] = {'\\', (char)c};
      ok = vn_buffer_add(out, esc, 2);
    } else if (c < 0x20 || c >= 0x7f) {
      char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
      ok = vn_buffer_add(out, esc, 4);
    } else {
      ok = vn_buffer_add(out, (const char *)&clean.data[i], 1);
    }
  }
  ok = ok && vn_buffer_add(out, "\"", 1);
  if (ok && len < clean.len) ok = vn_buffer_add(out, "...", 3);
  if (ok && n == 0) ok = vn_buffer_add(out, " (empty)", 8);
  vn_wipe(clean.data, clean.cap);
  vn_buffer_free(&clean);
  return ok;
}

int vn_trace_debug(CURL *e, curl_infotype type, char *data, size_t size, void *ud) {
  const vn_trace_ctx *ctx = (const vn_trace_ctx *)ud;
  const char *prefix;
  vn_buffer out = {NULL, 0, 0};
  size_t i = 0;
  (void)e;
  switch (type) {
    case CURLINFO_TEXT: prefix = "* "; break;
    case CURLINFO_HEADER_IN: prefix = "< "; break;
    case CURLINFO_HEADER_OUT: prefix = "> "; break;
    default: return 0; /* bodies and TLS data are not traced */
  }
  if (!vn_trace_redact(data, size, ctx ? ctx->token : NULL, ctx ? ctx->tokn : 0, 1, &out)) {
    fprintf(stderr, "%s(trace line dropped: out of memory)\n", prefix);
    return 0;
  }
  while (i < out.len) {
    const char *line = out.data + i;
    const char *nl = (const char *)memchr(line, '\n', out.len - i);
    size_t len = nl ? (size_t)(nl - line) : out.len - i;
    size_t shown = len > 0 && line[len - 1] == '\r' ? len - 1 : len;
    if (shown > 65536) shown = 65536;
    fprintf(stderr, "%s%.*s\n", prefix, (int)shown, line);
    i += len + 1;
  }
  vn_wipe(out.data, out.cap);
  vn_buffer_free(&out);
  return 0;
}
