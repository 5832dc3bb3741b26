/* The floor for N parallel creates: per process, a blocking flock on
   containers.yaml.lock, read containers.yaml, append an entry, write a temp
   file, fsync it, rename it over the file. Usage: floor DIR NAME */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: floor DIR NAME\n"); return 2; }
    char lock[4096], file[4096], tmp[4096];
    snprintf(lock, sizeof lock, "%s/containers.yaml.lock", argv[1]);
    snprintf(file, sizeof file, "%s/containers.yaml", argv[1]);
    snprintf(tmp, sizeof tmp, "%s/.containers.yaml.%d.tmp", argv[1], (int)getpid());
    int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lfd < 0 || flock(lfd, LOCK_EX) != 0) { perror("lock"); return 1; }
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { perror("open"); return 1; }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 4096 > cap) buf = realloc(buf, cap *= 2);
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0) { perror("read"); return 1; }
        if (n == 0) break;
        len += n;
    }
    close(fd);
    char entry[512];
    int m = snprintf(entry, sizeof entry, "  %s:\n    image: busybox\n    owner: bench\n", argv[2]);
    if (len + m > cap) buf = realloc(buf, cap = len + m);
    memcpy(buf + len, entry, m);
    len += m;
    int tfd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (tfd < 0) { perror("temp"); return 1; }
    for (size_t off = 0; off < len;) {
        ssize_t n = write(tfd, buf + off, len - off);
        if (n < 0) { perror("write"); return 1; }
        off += n;
    }
    if (fsync(tfd) != 0 || close(tfd) != 0) { perror("fsync"); return 1; }
    if (rename(tmp, file) != 0) { perror("rename"); return 1; }
    return 0;
}
