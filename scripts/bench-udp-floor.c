// The kernel's floor for loopback UDP, without Node: CPU microseconds per 1450-byte datagram (the size of an ESP
// packet carrying a 1400-byte inner packet) sent with sendto() or sendmmsg() in batches of 32, and received with
// recvfrom() or recvmmsg(). Compare with bench-esp-alt.ts's dgram send and receive rows: the difference is what
// node:dgram adds per datagram, and the batched rows are what a native batching path could reach at best.
// Not a test; not built by npm (the project has no native code). See scripts/README.md.
//
//   cc -O2 -o "${TMPDIR:-/tmp}/bench-udp-floor" scripts/bench-udp-floor.c
//   "${TMPDIR:-/tmp}/bench-udp-floor"          # sendto / recvfrom
//   "${TMPDIR:-/tmp}/bench-udp-floor" mmsg     # sendmmsg / recvmmsg, 32 per call
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

enum { TOTAL = 200000, BATCH = 32, SIZE = 1450 };

/** CPU time of this process (user + system), in microseconds. */
static double cpu_us(void) {
  struct rusage r;
  getrusage(RUSAGE_SELF, &r);
  return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e6 + r.ru_utime.tv_usec + r.ru_stime.tv_usec;
}

static void receive(int fd, int batched) {
  static char buf[BATCH][2048];
  struct mmsghdr m[BATCH];
  struct iovec v[BATCH];
  memset(m, 0, sizeof m);
  for (int i = 0; i < BATCH; i++) {
    v[i].iov_base = buf[i];
    v[i].iov_len = sizeof buf[i];
    m[i].msg_hdr.msg_iov = &v[i];
    m[i].msg_hdr.msg_iovlen = 1;
  }
  // a lost datagram must not hang the benchmark: give up after 2 s of silence
  struct timeval quiet = {2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &quiet, sizeof quiet);
  long got = 0;
  double t0 = 0;
  while (got < TOTAL) {
    int k = batched ? recvmmsg(fd, m, BATCH, 0, NULL) : (recvfrom(fd, buf[0], sizeof buf[0], 0, NULL, NULL) > 0 ? 1 : -1);
    if (k <= 0) break;
    if (got == 0) t0 = cpu_us(); // from the first datagram on: not the wait for the sender to start
    got += k;
  }
  printf("receive (%s): %.2f us CPU per datagram (%ld of %d)\n", batched ? "recvmmsg, 32 per call" : "recvfrom", got ? (cpu_us() - t0) / got : 0.0,
         got, TOTAL);
}

static void send_all(struct sockaddr_in *to, int batched) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  static char d[SIZE];
  memset(d, 7, sizeof d);
  struct mmsghdr m[BATCH];
  struct iovec v[BATCH];
  memset(m, 0, sizeof m);
  for (int i = 0; i < BATCH; i++) {
    v[i].iov_base = d;
    v[i].iov_len = sizeof d;
    m[i].msg_hdr.msg_iov = &v[i];
    m[i].msg_hdr.msg_iovlen = 1;
    m[i].msg_hdr.msg_name = to;
    m[i].msg_hdr.msg_namelen = sizeof *to;
  }
  double t0 = cpu_us();
  long sent = 0;
  while (sent < TOTAL) {
    if (batched) {
      int k = sendmmsg(fd, m, BATCH, 0);
      if (k > 0) sent += k;
    } else {
      for (int i = 0; i < BATCH; i++) sendto(fd, d, sizeof d, 0, (struct sockaddr *)to, sizeof *to);
      sent += BATCH;
    }
    usleep(200); // bursts of 32, paced so the receive buffer never overflows (like bench-esp-alt's sender)
  }
  printf("send (%s): %.2f us CPU per datagram\n", batched ? "sendmmsg, 32 per call" : "sendto", (cpu_us() - t0) / sent);
  close(fd);
}

int main(int argc, char **argv) {
  int batched = argc > 1 && strcmp(argv[1], "mmsg") == 0;
  int rx = socket(AF_INET, SOCK_DGRAM, 0);
  int rcvbuf = 8 << 20;
  setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  struct sockaddr_in at = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof at;
  if (bind(rx, (struct sockaddr *)&at, sizeof at) != 0 || getsockname(rx, (struct sockaddr *)&at, &len) != 0) {
    perror("bind");
    return 1;
  }
  // the receiver is a child process, so each side's CPU time is its own
  pid_t child = fork();
  if (child == 0) {
    receive(rx, batched);
    return 0;
  }
  usleep(100000);
  send_all(&at, batched);
  waitpid(child, NULL, 0);
  return 0;
}
