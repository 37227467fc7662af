package mtompeer;

import java.util.List;
import java.util.Map;
import javax.xml.namespace.QName;
import javax.xml.soap.SOAPConstants;
import javax.xml.soap.SOAPException;
import javax.xml.soap.SOAPFactory;
import javax.xml.soap.SOAPFault;
import javax.xml.ws.WebServiceContext;
import javax.xml.ws.handler.MessageContext;
import javax.xml.ws.soap.SOAPFaultException;

/** The operation shared by the SOAP 1.1 and SOAP 1.2 endpoints. */
final class Echo {
    private Echo() {}

    /**
     * Echoes the values back. JAX-WS RI itself accepts an xop:Include it cannot resolve (dangling
     * cid:, or a reference by Content-Location) and hands over a null value; this service turns
     * that into a Sender/Client fault, as the W3C MTOM interop failure cases require.
     */
    static EchoTest echo(EchoTest in, WebServiceContext ctx, boolean soap12) {
        String label = soap12 ? "soap12" : "soap11";
        if (in == null || in.data == null || in.data.isEmpty()) {
            throw senderFault("EchoTest must hold at least one Data element", soap12);
        }
        long total = 0;
        int missing = 0;
        for (DataValue d : in.data) {
            if (d.value == null) {
                missing++;
            } else {
                total += d.value.length;
            }
        }
        System.err.println("[" + label + "] request Content-Type: " + requestContentType(ctx)
                + "; values: " + in.data.size() + "; bytes: " + total + "; null values: " + missing);
        if (missing > 0) {
            throw senderFault(missing + " Data value(s) could not be resolved"
                    + " (xop:Include without a matching MIME part?)", soap12);
        }
        EchoTest out = new EchoTest();
        for (DataValue d : in.data) {
            out.data.add(new DataValue(d.value, d.contentType));
        }
        return out;
    }

    private static RuntimeException senderFault(String message, boolean soap12) {
        try {
            SOAPFactory factory = SOAPFactory.newInstance(
                    soap12 ? SOAPConstants.SOAP_1_2_PROTOCOL : SOAPConstants.SOAP_1_1_PROTOCOL);
            QName code = soap12 ? SOAPConstants.SOAP_SENDER_FAULT
                    : new QName(SOAPConstants.URI_NS_SOAP_1_1_ENVELOPE, "Client");
            SOAPFault fault = factory.createFault(message, code);
            return new SOAPFaultException(fault);
        } catch (SOAPException e) {
            return new IllegalArgumentException(message, e);
        }
    }

    private static String requestContentType(WebServiceContext ctx) {
        try {
            @SuppressWarnings("unchecked")
            Map<String, List<String>> headers = (Map<String, List<String>>)
                    ctx.getMessageContext().get(MessageContext.HTTP_REQUEST_HEADERS);
            if (headers != null) {
                for (Map.Entry<String, List<String>> e : headers.entrySet()) {
                    if (e.getKey() != null && e.getKey().equalsIgnoreCase("Content-Type")) {
                        return String.join(", ", e.getValue());
                    }
                }
            }
        } catch (RuntimeException ignored) {
            // diagnostics only
        }
        return "?";
    }
}
