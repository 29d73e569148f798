/*
 * client:download(url, path): the body streams to a temporary file beside
 * path, renamed over path only once the transfer is complete and 2xx, so a
 * half-written file never sits under the final name.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vinano.h"

int vn_download_open(vn_request *r, const char *path, char *msg, size_t msgsize) {
  size_t n = strlen(path);
  int fd;
  r->path = (char *)malloc(n + 1);
  r->tmp_path = (char *)malloc(n + sizeof ".vinano-XXXXXX");
  if (!r->path || !r->tmp_path) {
    snprintf(msg, msgsize, "path: out of memory");
    return 0;
  }
  memcpy(r->path, path, n + 1);
  memcpy(r->tmp_path, path, n);
  memcpy(r->tmp_path + n, ".vinano-XXXXXX", sizeof ".vinano-XXXXXX");
  fd = mkstemp(r->tmp_path);
  if (fd < 0 || !(r->out = fdopen(fd, "wb"))) {
    snprintf(msg, msgsize, "path: cannot create a file beside '%s' (%s)", path, strerror(errno));
    if (fd >= 0) {
      close(fd);
      unlink(r->tmp_path);
    }
    free(r->tmp_path);
    r->tmp_path = NULL;
    return 0;
  }
  return 1;
}

/* A 2xx body goes to the file; any other body is kept (bounded) in memory
 * so that the error can quote it. */
size_t vn_download_write(char *ptr, size_t size, size_t nmemb, void *ud) {
  vn_request *r = (vn_request *)ud;
  long status = 0;
  size_t n = size * nmemb;
  curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status >= 300) return vn_body_write(ptr, size, nmemb, ud);
  if (fwrite(ptr, 1, n, r->out) != n) {
    r->file_error = errno ? errno : EIO;
    return 0;
  }
  r->written += (curl_off_t)n;
  return n;
}

void vn_download_abort(vn_request *r) {
  if (r->out) {
    fclose(r->out);
    r->out = NULL;
  }
  if (r->tmp_path) {
    unlink(r->tmp_path);
    free(r->tmp_path);
    r->tmp_path = NULL;
  }
}

void vn_download_finish(vn_request *r) {
  int ok = r->code == CURLE_OK && r->status >= 200 && r->status < 300 && !r->file_error;
  if (!r->out) return;
  if (fclose(r->out) != 0 && ok) r->file_error = errno;
  r->out = NULL;
  if (ok && !r->file_error && rename(r->tmp_path, r->path) == 0) {
    free(r->tmp_path);
    r->tmp_path = NULL;
    return;
  }
  if (ok && !r->file_error) r->file_error = errno;
  vn_download_abort(r);
}
