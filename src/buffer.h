/* buffer.c: one growable byte buffer, for bodies, header blocks, traces. */
#ifndef VINANO_BUFFER_H
#define VINANO_BUFFER_H

#include <stddef.h>

typedef struct vn_buffer {
  char *data; /* NUL-terminated when not NULL */
  size_t len, cap;
} vn_buffer;

/* Appends n bytes; 0 when out of memory (the buffer is unchanged). */
int vn_buffer_add(vn_buffer *b, const void *p, size_t n);
/* Room for n more bytes without another allocation; 0 when out of memory. */
int vn_buffer_reserve(vn_buffer *b, size_t n);
int vn_buffer_adds(vn_buffer *b, const char *s);
void vn_buffer_reset(vn_buffer *b); /* len = 0, memory kept */
void vn_buffer_free(vn_buffer *b);

#endif
