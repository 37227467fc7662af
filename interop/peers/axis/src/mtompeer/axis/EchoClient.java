package mtompeer.axis;

import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;

import javax.activation.DataHandler;

import org.apache.axis.AxisFault;
import org.apache.axis.Message;
import org.apache.axis.client.Call;
import org.apache.axis.client.Service;
import org.apache.axis.message.MessageElement;
import org.apache.axis.message.PrefixedQName;
import org.apache.axis.message.SOAPBodyElement;
import org.apache.axis.message.SOAPEnvelope;
import org.apache.axis.soap.SOAPConstants;
import org.apache.axis.transport.http.HTTPConstants;

/**
 * Apache Axis 1.4 client of the W3C echo: one EchoTest with one Data per FILE, sent through
 * Axis's own Call and HTTP transport; prints one JSON line (the other peers' format).
 *
 *   EchoClient URL 1.1|1.2 on|off [--format swa|mtom|dime] [--xsi-type on|off] [--action URI]
 *              [--timeout SECONDS] [--ct TYPE] FILE [[--ct TYPE] FILE ...]
 *
 * "on" (or a --format) sends each value as an attachment the way Axis does it: the Data
 * element's object value is a DataHandler, which Axis's JAF serializer writes as href="cid:..."
 * (SOAP 1.2: ref=) with xsi:type="ns1:DataHandler" unless --xsi-type off; the format is MTOM by
 * default ("on"), else the one given. "off": inline base64.
 *
 * Harness work-around (Axis 1.4 with JavaMail >= 1.6): Axis's Content-Length does not count the
 * Date header JavaMail writes into the MIME body, so requests are sent chunked (HTTP/1.1,
 * Transfer-Encoding: chunked through Axis's own HTTPSender), which carries no length.
 */
public final class EchoClient {
    private EchoClient() {
    }

    public static void main(String[] args) {
        try {
            System.exit(run(args));
        } catch (Throwable t) {
            t.printStackTrace();
            System.exit(1);
        }
    }

    private static int run(String[] args) throws Exception {
        if (args.length < 4) {
            throw new IllegalArgumentException("usage: EchoClient URL 1.1|1.2 on|off [options] FILE ...");
        }
        String url = args[0];
        boolean soap12 = "1.2".equals(args[1]);
        String format = "on".equals(args[2]) ? "mtom" : "plain";
        boolean xsiType = true;
        String action = "";
        int timeout = 120;
        List<String[]> files = new ArrayList<>();
        String ct = null;
        for (int i = 3; i < args.length; i++) {
            switch (args[i]) {
                case "--format": format = args[++i]; break;
                case "--xsi-type": xsiType = "on".equals(args[++i]); break;
                case "--action": action = args[++i]; break;
                case "--timeout": timeout = Integer.parseInt(args[++i]); break;
                case "--threshold": i++; break;
                case "--ct": ct = args[++i]; break;
                default:
                    if (args[i].startsWith("--")) {
                        throw new IllegalArgumentException("unknown option " + args[i]);
                    }
                    files.add(new String[] {args[i], ct});
                    ct = null;
            }
        }
        SOAPConstants constants = soap12 ? SOAPConstants.SOAP12_CONSTANTS : SOAPConstants.SOAP11_CONSTANTS;
        Service service = new Service();
        Call call = (Call) service.createCall();
        call.setTargetEndpointAddress(new URL(url));
        call.setSOAPVersion(constants);
        call.setTimeout(timeout * 1000);
        call.setUseSOAPAction(true);
        call.setSOAPActionURI(action);
        call.setProperty(org.apache.axis.MessageContext.HTTP_TRANSPORT_VERSION,
                HTTPConstants.HEADER_PROTOCOL_V11);
        Hashtable<String, Object> headers = new Hashtable<>();
        headers.put(HTTPConstants.HEADER_TRANSFER_ENCODING, HTTPConstants.HEADER_TRANSFER_ENCODING_CHUNKED);
        call.setProperty(HTTPConstants.REQUEST_HEADERS, headers);
        switch (format) {
            case "swa": call.setProperty(Call.ATTACHMENT_ENCAPSULATION_FORMAT,
                    Call.ATTACHMENT_ENCAPSULATION_FORMAT_MIME); break;
            case "dime": call.setProperty(Call.ATTACHMENT_ENCAPSULATION_FORMAT,
                    Call.ATTACHMENT_ENCAPSULATION_FORMAT_DIME); break;
            case "mtom": call.setProperty(Call.ATTACHMENT_ENCAPSULATION_FORMAT,
                    Call.ATTACHMENT_ENCAPSULATION_FORMAT_MTOM); break;
            case "plain": break;
            default: throw new IllegalArgumentException("unknown format " + format);
        }
        if (!xsiType) {
            call.setProperty(Call.SEND_TYPE_ATTR, Boolean.FALSE);
        }

        SOAPEnvelope env = new SOAPEnvelope(constants);
        SOAPBodyElement echo = new SOAPBodyElement(new PrefixedQName(Values.DATA_NS, "EchoTest", "x"));
        env.addBodyElement(echo);
        for (String[] file : files) {
            byte[] data = Files.readAllBytes(Paths.get(file[0]));
            MessageElement d = (MessageElement) echo.addChildElement("Data", "x", Values.DATA_NS);
            if (file[1] != null) {
                d.addAttribute("xmime", Values.XMIME_NS, "contentType", file[1]);
            }
            if ("plain".equals(format)) {
                d.addTextNode(java.util.Base64.getEncoder().encodeToString(data));
            } else {
                d.setObjectValue(new DataHandler(new Values.Bytes(data, file[1])));
            }
        }
        Message request = new Message(env);
        SOAPEnvelope reply;
        try {
            reply = call.invoke(request);
        } catch (AxisFault fault) {
            String code = fault.getFaultCode() == null ? "" : fault.getFaultCode().getLocalPart();
            // An HTTP error other than 500 (e.g. 415) is not parsed as a SOAP fault by Axis:
            // the reply body is only in the fault's details.
            StringBuilder detail = new StringBuilder();
            org.w3c.dom.Element[] details = fault.getFaultDetails();
            if (details != null) {
                for (org.w3c.dom.Element e : details) {
                    detail.append(e.getTextContent()).append('\n');
                }
            }
            System.out.println("{\"ok\":false,\"fault\":{\"code\":" + Values.json(code)
                    + ",\"string\":" + Values.json(fault.getFaultString())
                    + ",\"detail\":" + Values.json(detail.toString()) + "}}");
            return 2;
        }
        Message response = call.getResponseMessage();
        String responseType = null;
        String[] types = response.getMimeHeaders().getHeader("Content-Type");
        if (types != null && types.length > 0) {
            responseType = types[0];
        }
        List<Values.Value> values = Values.read(reply.getFirstBody(), response);
        StringBuilder sb = new StringBuilder("{\"ok\":true,\"values\":[");
        for (int i = 0; i < values.size(); i++) {
            Values.Value v = values.get(i);
            if (i > 0) {
                sb.append(',');
            }
            sb.append("{\"size\":").append(v.bytes.length)
                    .append(",\"sha256\":").append(Values.json(Values.sha256(v.bytes)))
                    .append(",\"content_type\":").append(Values.json(v.contentType))
                    .append(",\"attachment_type\":").append(Values.json(v.partType)).append('}');
        }
        sb.append("],\"response_content_type\":").append(Values.json(responseType)).append('}');
        System.out.println(sb);
        return 0;
    }
}
