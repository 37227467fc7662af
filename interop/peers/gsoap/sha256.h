/* Minimal SHA-256 (FIPS 180-4) for the echo client's JSON output. */
#ifndef PEER_SHA256_H
#define PEER_SHA256_H
#include <stddef.h>

/* Writes the 64 lower-case hex digits of SHA-256(data[0..len)) and a NUL into hex[65]. */
void sha256_hex(const unsigned char *data, size_t len, char hex[65]);

#endif
