/*
 * gSOAP MTOM echo server (W3C MTOM CR interop shape), listening on 127.0.0.1 only.
 *
 *   echo_server [--port N] [--port-file PATH] [--reply mtom|plain|same] [--wsdl TEMPLATE]
 *
 * --port N         TCP port, 0 (default) for any free one
 * --port-file PATH the bound port is written there (atomically) once connections are accepted
 * --reply MODE     mtom (default): every Data goes back as an MTOM attachment whose
 *                  Content-Type is the xmime:contentType (else application/octet-stream);
 *                  plain: inline base64, no MIME package; same: MTOM iff the request was MTOM
 * --wsdl TEMPLATE  served on GET ...?wsdl, with @BASE_URL@ replaced by http://127.0.0.1:PORT
 * --parent-pid PID exit once that process is gone (no orphaned servers if the tests die)
 *
 * Any URL path is accepted; SOAP 1.1 and 1.2 are both served and the reply uses the version of
 * the request. One thread per connection; runs until killed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "EchoService.nsmap"
#include "common.h"

enum reply_mode { REPLY_MTOM, REPLY_PLAIN, REPLY_SAME };

static enum reply_mode reply_mode = REPLY_MTOM;
static char *wsdl_text = NULL; /* template with @BASE_URL@ substituted */
static size_t wsdl_len = 0;

static void usage(const char *why)
{
    fprintf(stderr, "echo_server: %s\nusage: echo_server [--port N] [--port-file PATH]"
                    " [--reply mtom|plain|same] [--wsdl TEMPLATE] [--parent-pid PID]\n", why);
    exit(64);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *bigger = realloc(buf, 2 * cap + 1);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

static char *substitute(const char *text, const char *needle, const char *value)
{
    size_t count = 0, nlen = strlen(needle), vlen = strlen(value);
    for (const char *p = strstr(text, needle); p; p = strstr(p + nlen, needle))
        count++;
    char *out = malloc(strlen(text) + count * vlen + 1);
    if (!out)
        return NULL;
    char *w = out;
    const char *r = text, *p;
    while ((p = strstr(r, needle)) != NULL) {
        memcpy(w, r, (size_t)(p - r));
        w += p - r;
        memcpy(w, value, vlen);
        w += vlen;
        r = p + nlen;
    }
    strcpy(w, r);
    return out;
}

static int serve_get(struct soap *soap)
{
    if (!wsdl_text || !strcasestr(soap->path, "?wsdl"))
        return 404;
    soap->http_content = "text/xml; charset=utf-8";
    if (soap_response(soap, SOAP_FILE) || soap_send_raw(soap, wsdl_text, wsdl_len) ||
        soap_end_send(soap))
        return soap_closesock(soap);
    return SOAP_OK;
}

int __ns__EchoTest(struct soap *soap, struct _x__EchoTest *in, struct _x__EchoTest *out)
{
    struct peer_conn *conn = peer_conn_of(soap);
    if (!in || in->__sizeData < 1 || !in->Data)
        return soap_sender_fault(soap, "EchoTest must hold at least one Data element", NULL);
    long long total = 0;
    int attachments = 0;
    for (int i = 0; i < in->__sizeData; i++) {
        struct x__DataType *d = &in->Data[i];
        if (!d->__item.__ptr && d->__item.__size != 0)
            return soap_sender_fault(soap, "a Data value could not be resolved", NULL);
        total += d->__item.__size;
        if (d->__item.id || d->__item.type)
            attachments++;
    }
    int mtom = reply_mode == REPLY_MTOM || (reply_mode == REPLY_SAME && peer_request_was_mtom(soap));
    fprintf(stderr, "[soap1%d] request Content-Type: %s; values: %d (as attachments: %d);"
                    " bytes: %lld; reply: %s\n",
            soap->version == 2 ? 2 : 1, conn ? conn->content_type : "?", in->__sizeData,
            attachments, total, mtom ? "mtom" : "plain");
    if (mtom) {
        soap_set_omode(soap, SOAP_ENC_MTOM);
        soap->mode |= SOAP_ENC_MTOM;
    } else {
        soap_clr_omode(soap, SOAP_ENC_MTOM);
        soap->mode &= ~SOAP_ENC_MTOM;
    }
    out->__sizeData = in->__sizeData;
    out->Data = in->Data;
    for (int i = 0; i < out->__sizeData; i++) {
        struct x__DataType *d = &out->Data[i];
        d->__item.id = NULL; /* let gSOAP generate fresh Content-IDs */
        d->__item.options = NULL;
        d->__item.type = !mtom ? NULL
                  : d->xmime5__contentType ? d->xmime5__contentType
                                           : "application/octet-stream";
    }
    return SOAP_OK;
}

static void *serve_connection(void *arg)
{
    struct soap *soap = (struct soap *)arg;
    pthread_detach(pthread_self());
    if (peer_attach(soap) == 0) {
        if (soap_serve(soap) != SOAP_OK && soap->error != SOAP_STOP)
            soap_print_fault(soap, stderr);
        peer_detach(soap);
    }
    soap_destroy(soap);
    soap_end(soap);
    soap_free(soap);
    return NULL;
}

int main(int argc, char **argv)
{
    int port = 0;
    pid_t parent = 0;
    const char *port_file = NULL, *wsdl_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage("missing option value");
        const char *opt = argv[i], *val = argv[++i];
        if (!strcmp(opt, "--port"))
            port = atoi(val);
        else if (!strcmp(opt, "--port-file"))
            port_file = val;
        else if (!strcmp(opt, "--wsdl"))
            wsdl_path = val;
        else if (!strcmp(opt, "--parent-pid"))
            parent = (pid_t)atol(val);
        else if (!strcmp(opt, "--reply")) {
            if (!strcmp(val, "mtom"))
                reply_mode = REPLY_MTOM;
            else if (!strcmp(val, "plain"))
                reply_mode = REPLY_PLAIN;
            else if (!strcmp(val, "same"))
                reply_mode = REPLY_SAME;
            else
                usage("--reply must be mtom, plain or same");
        } else
            usage("unknown option");
    }
    signal(SIGPIPE, SIG_IGN);

    struct soap *soap = soap_new();
    if (!soap)
        return 1;
    soap->bind_flags = SO_REUSEADDR;
    soap->recv_timeout = 60;
    soap->send_timeout = 60;
    soap->recv_maxlength = (ULONG64)1 << 30;
    soap->fget = serve_get;
    soap->accept_timeout = 1; /* wake up every second to check on the parent */
    if (!soap_valid_socket(soap_bind(soap, "127.0.0.1", port, 64))) {
        soap_print_fault(soap, stderr);
        return 1;
    }
    struct sockaddr_storage addr;
    socklen_t alen = sizeof addr;
    if (getsockname(soap->master, (struct sockaddr *)&addr, &alen) != 0) {
        perror("getsockname");
        return 1;
    }
    port = ntohs(addr.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&addr)->sin6_port
                                            : ((struct sockaddr_in *)&addr)->sin_port);

    if (wsdl_path) {
        size_t len = 0;
        char *tmpl = read_file(wsdl_path, &len);
        if (!tmpl) {
            perror(wsdl_path);
            return 1;
        }
        char base[64];
        snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
        wsdl_text = substitute(tmpl, "@BASE_URL@", base);
        free(tmpl);
        if (!wsdl_text)
            return 1;
        wsdl_len = strlen(wsdl_text);
    }
    if (port_file) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%d", port) < 0 || fclose(f) != 0 || rename(tmp, port_file) != 0) {
            perror(port_file);
            return 1;
        }
    }
    printf("READY http://127.0.0.1:%d/echo11 http://127.0.0.1:%d/echo12 reply=%s\n", port, port,
           reply_mode == REPLY_MTOM ? "mtom" : reply_mode == REPLY_PLAIN ? "plain" : "same");
    fflush(stdout);

    for (;;) {
        if (!soap_valid_socket(soap_accept(soap))) {
            if (parent > 0 && getppid() != parent) {
                fprintf(stderr, "echo_server: parent %ld gone, exiting\n", (long)parent);
                return 0;
            }
            if (soap->errnum == 0) /* accept timeout */
                continue;
            soap_print_fault(soap, stderr);
            usleep(10000); /* do not spin if accept() keeps failing (e.g. EMFILE) */
            continue;
        }
        struct soap *copy = soap_copy(soap);
        pthread_t tid;
        if (!copy) {
            soap_force_closesock(soap);
            continue;
        }
        if (pthread_create(&tid, NULL, serve_connection, copy) != 0) {
            soap_force_closesock(copy);
            soap_free(copy);
        }
    }
}
