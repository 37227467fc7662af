package mtompeer.client;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.xml.bind.JAXBContext;
import javax.xml.bind.JAXBElement;
import javax.xml.bind.JAXBException;
import javax.xml.namespace.QName;
import javax.xml.soap.SOAPFault;
import javax.xml.ws.BindingProvider;
import javax.xml.ws.Dispatch;
import javax.xml.ws.Service;
import javax.xml.ws.WebServiceException;
import javax.xml.ws.handler.MessageContext;
import javax.xml.ws.soap.MTOMFeature;
import javax.xml.ws.soap.SOAPBinding;
import javax.xml.ws.soap.SOAPFaultException;
import mtompeer.DataValue;
import mtompeer.EchoTest;
import mtompeer.Names;

/**
 * JAX-WS RI client for an MTOM echo service (W3C MTOM interop shape).
 * <pre>
 * EchoClient URL 1.1|1.2 on|off [--threshold N] [--action URI] [--timeout SECONDS]
 *            [--ct CONTENT_TYPE] FILE [[--ct CONTENT_TYPE] FILE ...]
 * </pre>
 * Sends one {@code EchoTest} with one {@code Data} per FILE ({@code --ct} sets the
 * xmime:contentType of the next FILE), MTOM-optimised when "on". Prints one line of JSON:
 * {"ok":true,"values":[{"size":N,"sha256":"hex","content_type":"..."|null}],
 *  "response_content_type":"..."}. Exit 0 on success, 2 on a SOAP fault (JSON with "fault"),
 * 1 on any other error, 64 on bad usage.
 * Uses a Dispatch over a JAXB context, so no WSDL is needed; the reply root may be EchoTest or
 * EchoTestResponse in the data namespace.
 */
public final class EchoClient {
    private EchoClient() {}

    public static void main(String[] args) {
        if (args.length < 4) {
            usage("need URL, SOAP version, on|off and at least one FILE");
        }
        String url = args[0];
        String bindingId;
        switch (args[1]) {
            case "1.1": bindingId = SOAPBinding.SOAP11HTTP_BINDING; break;
            case "1.2": bindingId = SOAPBinding.SOAP12HTTP_BINDING; break;
            default: usage("SOAP version must be 1.1 or 1.2"); return;
        }
        boolean mtom = parseOnOff(args[2]);
        int threshold = 0;
        String action = null;
        int timeoutSeconds = 120;
        String pendingType = null;
        EchoTest request = new EchoTest();
        try {
            for (int i = 3; i < args.length; i++) {
                String a = args[i];
                if (a.startsWith("--")) {
                    if (i + 1 >= args.length) {
                        usage("missing value for " + a);
                    }
                    String v = args[++i];
                    switch (a) {
                        case "--threshold": threshold = Integer.parseInt(v); break;
                        case "--action": action = v; break;
                        case "--timeout": timeoutSeconds = Integer.parseInt(v); break;
                        case "--ct": pendingType = v; break;
                        default: usage("unknown option " + a);
                    }
                } else {
                    request.data.add(new DataValue(Files.readAllBytes(Paths.get(a)), pendingType));
                    pendingType = null;
                }
            }
        } catch (IOException e) {
            fail("cannot read input file: " + e);
        }
        if (request.data.isEmpty()) {
            usage("no FILE given");
        }

        QName serviceName = new QName(Names.SERVICE_NS, "EchoService");
        QName portName = new QName(Names.SERVICE_NS, "EchoPort");
        Service service = Service.create(serviceName);
        service.addPort(portName, bindingId, url);
        JAXBContext jaxb;
        try {
            jaxb = JAXBContext.newInstance(EchoTest.class, ResponseElements.class);
        } catch (JAXBException e) {
            fail("JAXB context: " + e);
            return;
        }
        Dispatch<Object> dispatch = service.createDispatch(
                portName, jaxb, Service.Mode.PAYLOAD, new MTOMFeature(mtom, threshold));
        Map<String, Object> rc = dispatch.getRequestContext();
        if (action != null) {
            rc.put(BindingProvider.SOAPACTION_USE_PROPERTY, Boolean.TRUE);
            rc.put(BindingProvider.SOAPACTION_URI_PROPERTY, action);
        }
        rc.put("com.sun.xml.ws.connect.timeout", 10_000);
        rc.put("com.sun.xml.ws.request.timeout", timeoutSeconds * 1000);

        Object reply;
        try {
            reply = dispatch.invoke(request);
        } catch (SOAPFaultException e) {
            SOAPFault f = e.getFault();
            String code = f.getFaultCodeAsQName() == null ? null : f.getFaultCodeAsQName().toString();
            System.out.println("{\"ok\":false,\"fault\":{\"code\":" + json(code) + ",\"string\":"
                    + json(f.getFaultString()) + "},\"response_content_type\":"
                    + json(responseContentType(dispatch)) + "}");
            System.exit(2);
            return;
        } catch (WebServiceException e) {
            fail("call failed: " + e);
            return;
        }

        EchoTest echoed = null;
        if (reply instanceof EchoTest) {
            echoed = (EchoTest) reply;
        } else if (reply instanceof JAXBElement && ((JAXBElement<?>) reply).getValue()
                instanceof EchoTest) {
            echoed = (EchoTest) ((JAXBElement<?>) reply).getValue();
        }
        if (echoed == null) {
            fail("unexpected reply object: " + (reply == null ? "null" : reply.getClass()));
            return;
        }
        StringBuilder out = new StringBuilder("{\"ok\":true,\"values\":[");
        List<String> items = new ArrayList<>();
        for (DataValue d : echoed.data) {
            byte[] v = d.value == null ? new byte[0] : d.value;
            items.add("{\"size\":" + v.length + ",\"sha256\":\"" + sha256(v)
                    + "\",\"content_type\":" + json(d.contentType) + "}");
        }
        out.append(String.join(",", items));
        out.append("],\"response_content_type\":").append(json(responseContentType(dispatch)));
        out.append("}");
        System.out.println(out);
        System.exit(0);
    }

    private static String responseContentType(Dispatch<Object> dispatch) {
        Map<String, Object> ctx = dispatch.getResponseContext();
        if (ctx == null) {
            return null;
        }
        @SuppressWarnings("unchecked")
        Map<String, List<String>> headers =
                (Map<String, List<String>>) ctx.get(MessageContext.HTTP_RESPONSE_HEADERS);
        if (headers == null) {
            return null;
        }
        for (Map.Entry<String, List<String>> e : headers.entrySet()) {
            if (e.getKey() != null && e.getKey().equalsIgnoreCase("Content-Type")) {
                return String.join(", ", e.getValue());
            }
        }
        return null;
    }

    static String sha256(byte[] data) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(data);
            StringBuilder sb = new StringBuilder();
            for (byte b : d) {
                sb.append(String.format("%02x", b & 0xff));
            }
            return sb.toString();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String json(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"': sb.append("\\\""); break;
                case '\\': sb.append("\\\\"); break;
                case '\n': sb.append("\\n"); break;
                case '\r': sb.append("\\r"); break;
                case '\t': sb.append("\\t"); break;
                default:
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
            }
        }
        return sb.append('"').toString();
    }

    static boolean parseOnOff(String v) {
        switch (v) {
            case "on": case "true": case "1": case "mtom": return true;
            case "off": case "false": case "0": case "plain": return false;
            default: usage("expected on|off, got " + v); return false;
        }
    }

    static void fail(String why) {
        System.err.println("EchoClient: " + why);
        System.exit(1);
    }

    static void usage(String why) {
        System.err.println("EchoClient: " + why);
        System.err.println("usage: EchoClient URL 1.1|1.2 on|off [--threshold N] [--action URI]"
                + " [--timeout SECONDS] [--ct CONTENT_TYPE] FILE ...");
        System.exit(64);
    }
}
