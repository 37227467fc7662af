/* Helpers shared by the gSOAP echo server and client. */
#include "common.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int (*default_parsehdr)(struct soap *, const char *, const char *) = NULL;

static void copy_value(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int record_header(struct soap *soap, const char *key, const char *val)
{
    struct peer_conn *conn = peer_conn_of(soap);
    if (conn && key && val) {
        if (!strcasecmp(key, "Content-Type"))
            copy_value(conn->content_type, sizeof conn->content_type, val);
        else if (!strcasecmp(key, "Accept"))
            copy_value(conn->accept, sizeof conn->accept, val);
    }
    return default_parsehdr(soap, key, val);
}

int peer_attach(struct soap *soap)
{
    struct peer_conn *conn = calloc(1, sizeof *conn);
    if (!conn)
        return -1;
    soap->user = conn;
    if (soap->fparsehdr != record_header) {
        if (!default_parsehdr)
            default_parsehdr = soap->fparsehdr;
        soap->fparsehdr = record_header;
    }
    return 0;
}

void peer_detach(struct soap *soap)
{
    free(soap->user);
    soap->user = NULL;
}

struct peer_conn *peer_conn_of(struct soap *soap)
{
    return (struct peer_conn *)soap->user;
}

int peer_request_was_mtom(struct soap *soap)
{
    struct peer_conn *conn = peer_conn_of(soap);
    return conn && strstr(conn->content_type, "application/xop+xml") != NULL;
}

void peer_json_string(FILE *out, const char *s)
{
    if (!s) {
        fputs("null", out);
        return;
    }
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (*p < 0x20)
                fprintf(out, "\\u%04x", *p);
            else
                fputc(*p, out);
        }
    }
    fputc('"', out);
}
