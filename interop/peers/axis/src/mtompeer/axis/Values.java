package mtompeer.axis;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Iterator;

import javax.activation.DataHandler;
import javax.activation.DataSource;

import org.apache.axis.AxisFault;
import org.apache.axis.Message;
import org.apache.axis.Part;
import org.apache.axis.attachments.AttachmentPart;
import org.apache.axis.attachments.Attachments;
import org.apache.axis.message.MessageElement;

/** What the Axis echo service and client share: names, value lookup, digests, JSON. */
public final class Values {
    public static final String DATA_NS = "http://example.org/mtom/data";
    public static final String XMIME_NS = "http://www.w3.org/2005/05/xmlmime";
    public static final String XOP_NS = "http://www.w3.org/2004/08/xop/include";

    private Values() {
    }

    /** A value as bytes with a MIME type (the DataSource Axis attaches). */
    public static final class Bytes implements DataSource {
        private final byte[] data;
        private final String type;

        public Bytes(byte[] data, String type) {
            this.data = data;
            this.type = type == null ? "application/octet-stream" : type;
        }

        @Override
        public InputStream getInputStream() {
            return new ByteArrayInputStream(data);
        }

        @Override
        public OutputStream getOutputStream() throws IOException {
            throw new IOException("read-only");
        }

        @Override
        public String getContentType() {
            return type;
        }

        @Override
        public String getName() {
            return "value";
        }
    }

    /** One Data value read from a message: its bytes and where they came from. */
    public static final class Value {
        public final byte[] bytes;
        public final String contentType; // xmime:contentType, or null
        public final String partType; // MIME type of the part it came in, or null (inline)

        Value(byte[] bytes, String contentType, String partType) {
            this.bytes = bytes;
            this.contentType = contentType;
            this.partType = partType;
        }
    }

    /** The attachment reference of a Data element: href (SwA), ref (Axis's SOAP 1.2) or a
     *  xop:Include child; null for an inline value. */
    public static String reference(MessageElement el) {
        String ref = el.getAttributeValue("href");
        if (ref == null) {
            ref = el.getAttributeValue("ref");
        }
        if (ref != null) {
            return ref;
        }
        for (Object child : children(el)) {
            if (child instanceof MessageElement) {
                MessageElement c = (MessageElement) child;
                if (XOP_NS.equals(c.getNamespaceURI()) && "Include".equals(c.getLocalName())) {
                    return c.getAttributeValue("href");
                }
            }
        }
        return null;
    }

    static java.util.List<?> children(MessageElement el) {
        java.util.List<?> list = el.getChildren();
        return list == null ? java.util.Collections.emptyList() : list;
    }

    /** Every Data child of the EchoTest element, resolved against the message's attachments. */
    public static java.util.List<Value> read(MessageElement echo, Message message) throws Exception {
        java.util.List<Value> out = new java.util.ArrayList<>();
        Attachments attachments = message.getAttachmentsImpl();
        for (Iterator<?> it = children(echo).iterator(); it.hasNext();) {
            Object child = it.next();
            if (!(child instanceof MessageElement)) {
                continue;
            }
            MessageElement el = (MessageElement) child;
            if (!"Data".equals(el.getLocalName())) {
                continue;
            }
            String ct = el.getAttributeNS(XMIME_NS, "contentType");
            if (ct != null && ct.isEmpty()) {
                ct = null;
            }
            String ref = reference(el);
            if (ref != null) {
                Part part = attachments == null ? null : attachments.getAttachmentByReference(ref);
                if (part == null) {
                    throw new AxisFault("Client", "no MIME part for reference " + ref, null, null);
                }
                DataHandler dh = ((AttachmentPart) part).getDataHandler();
                try (InputStream in = dh.getInputStream()) {
                    out.add(new Value(in.readAllBytes(), ct, part.getContentType()));
                }
            } else {
                String text = el.getValue();
                byte[] bytes = java.util.Base64.getMimeDecoder().decode(text == null ? "" : text.trim());
                out.add(new Value(bytes, ct, null));
            }
        }
        return out;
    }

    public static String sha256(byte[] data) {
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

    public static String json(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                sb.append('\\').append(c);
            } else if (c < 0x20) {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.append('"').toString();
    }

    public static byte[] readAll(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        in.transferTo(out);
        return out.toByteArray();
    }
}
