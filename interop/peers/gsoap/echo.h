/*
 * gSOAP interface of the MTOM echo peer (W3C MTOM CR interop shape), processed with
 *   soapcpp2 -c -L -x -w -I/usr/share/gsoap/import echo.h
 * Request and response are both {http://example.org/mtom/data}EchoTest holding one or more
 * Data elements; Data extends xs:base64Binary with an optional xmime:contentType attribute.
 * The leading "__" of the operation name means "no wrapper element" (document/literal bare);
 * the trailing "_" of the output parameter is dropped from its XML name, so the reply root is
 * EchoTest too.
 */
#import "xop.h"
#import "xmime5.h"

//gsoap ns service name:      EchoService
//gsoap ns service namespace: http://example.org/mtom
//gsoap ns service style:     document
//gsoap ns service encoding:  literal

//gsoap x schema namespace:     http://example.org/mtom/data
//gsoap x schema elementForm:   qualified
//gsoap x schema attributeForm: unqualified

/* A binary value gSOAP can send as an MTOM attachment: when SOAP_ENC_MTOM is on and id or
   type is set, it is written as xop:Include + MIME part (type = part Content-Type), otherwise
   inline as base64. On receipt, id/type/options describe the MIME part it came from. */
struct xsd__base64Binary
{ unsigned char *__ptr;
  int __size;
  char *id;
  char *type;
  char *options;
};

/* simpleContent: base64Binary plus the optional xmime:contentType attribute. (Putting the
   attribute straight into the binary struct above compiles too, but soapcpp2 2.8.124 then
   leaves the attribute uninitialised when it is absent from the XML.) */
struct x__DataType
{ struct xsd__base64Binary __item;
  @char *xmime5__contentType;
};

struct _x__EchoTest
{ int __sizeData 1;
  struct x__DataType *Data 1;
};

int __ns__EchoTest(struct _x__EchoTest *x__EchoTest, struct _x__EchoTest *x__EchoTest_);
