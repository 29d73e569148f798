/* A growable byte buffer: doubles, keeps a NUL after the bytes. */
#include <stdlib.h>
#include <string.h>

#include "buffer.h"

int vn_buffer_reserve(vn_buffer *b, size_t n) {
  if (n >= (size_t)-1 / 2 - b->len) return 0;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    char *d;
    while (cap < b->len + n + 1) cap *= 2;
    d = (char *)realloc(b->data, cap);
    if (!d) return 0;
    b->data = d;
    b->cap = cap;
  }
  return 1;
}

int vn_buffer_add(vn_buffer *b, const void *p, size_t n) {
  if (!vn_buffer_reserve(b, n)) return 0;
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 1;
}

int vn_buffer_adds(vn_buffer *b, const char *s) { return vn_buffer_add(b, s, strlen(s)); }

void vn_buffer_reset(vn_buffer *b) {
  b->len = 0;
  if (b->data) b->data[0] = '\0';
}

void vn_buffer_free(vn_buffer *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}
