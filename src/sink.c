/*
 * Where a response body goes: memory, bounded by max_response, or a file
 * written beside its final path and renamed over it once complete (a new
 * file gets the umask's mode, a replaced one keeps its own).  A file sink
 * keeps a non-2xx body in memory instead, so that the caller can quote it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vinano.h"

void vn_sink_init(vn_sink *s, curl_off_t max) {
  memset(s, 0, sizeof *s);
  s->file.fd = -1;
  s->max = max;
}

/* The message is allocated only when there is one (the transfer's struct
 * stays small: one allocation per request from glibc's fast bins). */
#define FILE_ERROR_SIZE 512
static char out_of_memory[] = "sink: out of memory";

static void set_error(vn_sink *s, const char *what, const char *path, int err) {
  char why[160];
  vn_strerror(err, why, sizeof why);
  s->file_errno = err;
  if (!s->file_error) s->file_error = (char *)malloc(FILE_ERROR_SIZE);
  if (!s->file_error) {
    s->file_error = out_of_memory;
    return;
  }
  if (s->file_error != out_of_memory) snprintf(s->file_error, FILE_ERROR_SIZE, "%s '%s': %s", what, path, why);
}

int vn_sink_open(vn_sink *s, const char *path, int mkdir) {
  size_t n = strlen(path);
  int err;
  s->path = (char *)malloc(n + 1);
  if (!s->path) {
    s->file_errno = ENOMEM;
    s->file_error = out_of_memory;
    return s->file_errno;
  }
  memcpy(s->path, path, n + 1);
  if (mkdir && (err = vn_mkdir_parents(path)) != 0) {
    set_error(s, "creating the folders of", path, err);
    return err;
  }
  if ((err = vn_mkstemp_beside(path, &s->file)) != 0) {
    set_error(s, "creating a file beside", path, err);
    return err;
  }
  return 0;
}

static size_t to_memory(vn_sink *s, const char *p, size_t n) {
  if ((curl_off_t)n > s->max - (curl_off_t)s->body.len) {
    s->too_large = 1;
    return 0; /* libcurl stops with CURLE_WRITE_ERROR */
  }
  return vn_buffer_add(&s->body, p, n) ? n : 0;
}

size_t vn_sink_write(vn_sink *s, long status, const char *p, size_t n) {
  int err;
  if (!s->path || status < 200 || status > 299) return to_memory(s, p, n);
  if (s->file.fd < 0) return 0; /* failed to open: start never lets it run */
  if ((err = vn_file_write(&s->file, p, n)) != 0) {
    set_error(s, "writing", s->path, err);
    return 0;
  }
  s->written += (curl_off_t)n;
  return n;
}

void vn_sink_finish(vn_sink *s, int ok) {
  int err;
  if (!s->path || s->file.fd < 0) return;
  if (!ok || s->file_errno) {
    vn_file_discard(&s->file);
    return;
  }
  if ((err = vn_file_commit(&s->file, s->path)) != 0) {
    set_error(s, "renaming the file to", s->path, err);
    return;
  }
  s->committed = 1;
}

void vn_sink_free(vn_sink *s) {
  vn_file_discard(&s->file);
  free(s->path);
  s->path = NULL;
  vn_buffer_free(&s->body);
  if (s->file_error != out_of_memory) free(s->file_error);
  s->file_error = NULL;
}
