/*
 * gSOAP client for an MTOM echo service (W3C MTOM CR interop shape).
 *
 *   echo_client URL 1.1|1.2 on|off [--threshold N] [--action URI] [--timeout SECONDS]
 *               [--ct CONTENT_TYPE] FILE [[--ct CONTENT_TYPE] FILE ...]
 *
 * Sends one EchoTest with one Data per FILE (--ct sets the xmime:contentType of the next FILE).
 * With "on", every value of at least --threshold bytes (default 0) is sent as an MTOM
 * attachment whose Content-Type is its xmime:contentType (else application/octet-stream).
 * Prints one line of JSON:
 *   {"ok":true,"values":[{"size":N,"sha256":"hex","content_type":"..."|null,
 *    "attachment_type":"..."|null}],"response_content_type":"..."}
 * ("attachment_type" is the MIME part's Content-Type when the value came back as an
 * attachment). Exit 0 on success, 2 on a SOAP fault (JSON with "fault"), 1 on other errors,
 * 64 on bad usage.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "EchoService.nsmap"
#include "common.h"
#include "sha256.h"

static void usage(const char *why)
{
    fprintf(stderr, "echo_client: %s\nusage: echo_client URL 1.1|1.2 on|off [--threshold N]"
                    " [--action URI] [--timeout SECONDS] [--ct CONTENT_TYPE] FILE ...\n", why);
    exit(64);
}

static int parse_on_off(const char *v)
{
    if (!strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "mtom"))
        return 1;
    if (!strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "plain"))
        return 0;
    usage("expected on|off");
    return 0;
}

static unsigned char *read_file(const char *path, int *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = NULL;
    long len = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && len < 0x7fffffffL &&
        fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc(len ? (size_t)len : 1);
        if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    if (buf)
        *size = (int)len;
    return buf;
}

int main(int argc, char **argv)
{
    if (argc < 5)
        usage("need URL, SOAP version, on|off and at least one FILE");
    const char *url = argv[1];
    int version;
    if (!strcmp(argv[2], "1.1"))
        version = 1;
    else if (!strcmp(argv[2], "1.2"))
        version = 2;
    else
        usage("SOAP version must be 1.1 or 1.2");
    int mtom = parse_on_off(argv[3]);
    long threshold = 0;
    int timeout = 120;
    const char *action = NULL, *pending_type = NULL;

    struct x__DataType *data = calloc((size_t)argc, sizeof *data);
    int count = 0;
    if (!data)
        return 1;
    for (int i = 4; i < argc; i++) {
        const char *a = argv[i];
        if (!strncmp(a, "--", 2)) {
            if (i + 1 >= argc)
                usage("missing option value");
            const char *v = argv[++i];
            if (!strcmp(a, "--threshold"))
                threshold = atol(v);
            else if (!strcmp(a, "--action"))
                action = v;
            else if (!strcmp(a, "--timeout"))
                timeout = atoi(v);
            else if (!strcmp(a, "--ct"))
                pending_type = v;
            else
                usage("unknown option");
            continue;
        }
        struct x__DataType *d = &data[count++];
        d->__item.__ptr = read_file(a, &d->__item.__size);
        if (!d->__item.__ptr) {
            fprintf(stderr, "echo_client: cannot read %s\n", a);
            return 1;
        }
        d->xmime5__contentType = (char *)pending_type;
        pending_type = NULL;
    }
    if (count == 0)
        usage("no FILE given");
    if (!action && version == 1)
        action = ""; /* SOAPAction: "" as a WSDL-generated gSOAP client sends (NULL: no header) */
    signal(SIGPIPE, SIG_IGN);

    struct soap *soap = soap_new();
    if (!soap || peer_attach(soap) != 0)
        return 1;
    if (version == 2) {
        /* gSOAP derives the envelope namespace from the first entries of the namespace table;
           soap_set_version() alone still writes a SOAP 1.1 envelope. */
        static struct Namespace ns12[sizeof namespaces / sizeof namespaces[0]];
        memcpy(ns12, namespaces, sizeof ns12);
        ns12[0].ns = "http://www.w3.org/2003/05/soap-envelope";
        ns12[1].ns = "http://www.w3.org/2003/05/soap-encoding";
        soap_set_namespaces(soap, ns12);
    }
    soap_set_version(soap, (short)version);
    soap->connect_timeout = 10;
    soap->recv_timeout = timeout;
    soap->send_timeout = timeout;
    soap->recv_maxlength = (ULONG64)1 << 30;
    if (mtom)
        soap_set_omode(soap, SOAP_ENC_MTOM);
    for (int i = 0; i < count; i++) {
        struct x__DataType *d = &data[i];
        if (mtom && d->__item.__size >= threshold)
            d->__item.type = d->xmime5__contentType ? d->xmime5__contentType
                                             : (char *)"application/octet-stream";
    }

    struct _x__EchoTest request = {count, data};
    struct _x__EchoTest reply;
    memset(&reply, 0, sizeof reply);
    const char *response_type = peer_conn_of(soap)->content_type;
    if (soap_call___ns__EchoTest(soap, url, action, &request, &reply) != SOAP_OK) {
        if (soap->fault && (soap->error == SOAP_FAULT || soap->error == SOAP_CLI_FAULT ||
                            soap->error == SOAP_SVR_FAULT)) {
            const char **code = soap_faultcode(soap);
            fputs("{\"ok\":false,\"fault\":{\"code\":", stdout);
            peer_json_string(stdout, code ? *code : NULL);
            fputs(",\"string\":", stdout);
            peer_json_string(stdout, soap_fault_string(soap));
            fputs("},\"response_content_type\":", stdout);
            peer_json_string(stdout, response_type[0] ? response_type : NULL);
            fputs("}\n", stdout);
            return 2;
        }
        fputs("echo_client: call failed: ", stderr);
        soap_print_fault(soap, stderr);
        return 1;
    }

    fputs("{\"ok\":true,\"values\":[", stdout);
    for (int i = 0; i < reply.__sizeData; i++) {
        const struct x__DataType *d = &reply.Data[i];
        const struct xsd__base64Binary *v = &d->__item;
        size_t size = v->__ptr ? (size_t)v->__size : 0;
        char hex[65];
        sha256_hex(v->__ptr ? v->__ptr : (const unsigned char *)"", size, hex);
        printf("%s{\"size\":%zu,\"sha256\":\"%s\",\"content_type\":", i ? "," : "", size, hex);
        peer_json_string(stdout, d->xmime5__contentType);
        fputs(",\"attachment_type\":", stdout);
        peer_json_string(stdout, (v->id || v->type) ? v->type : NULL);
        fputs("}", stdout);
    }
    fputs("],\"response_content_type\":", stdout);
    peer_json_string(stdout, response_type[0] ? response_type : NULL);
    fputs("}\n", stdout);
    soap_destroy(soap);
    soap_end(soap);
    peer_detach(soap);
    soap_free(soap);
    return 0;
}
