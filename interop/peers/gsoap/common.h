/* Helpers shared by the gSOAP echo server and client. */
#ifndef PEER_COMMON_H
#define PEER_COMMON_H

#include <stdio.h>

#include "soapH.h"

/* Per-connection data hung on soap->user. */
struct peer_conn {
    char content_type[2048]; /* HTTP Content-Type of the last message received */
    char accept[512];        /* HTTP Accept of the last request received (server side) */
};

/* Allocates a peer_conn for soap->user and hooks soap->fparsehdr to record headers. */
int peer_attach(struct soap *soap);
/* Frees what peer_attach allocated. */
void peer_detach(struct soap *soap);
/* The peer_conn of a soap context (never NULL after peer_attach). */
struct peer_conn *peer_conn_of(struct soap *soap);
/* Writes s as a JSON string literal (or null) to out. */
void peer_json_string(FILE *out, const char *s);
/* 1 when the recorded Content-Type announces an XOP package (MTOM). */
int peer_request_was_mtom(struct soap *soap);

#endif
