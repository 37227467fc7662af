package mtompeer.axis;

import java.util.List;

import javax.activation.DataHandler;

import org.apache.axis.Message;
import org.apache.axis.MessageContext;
import org.apache.axis.attachments.Attachments;
import org.apache.axis.message.MessageElement;
import org.apache.axis.message.PrefixedQName;
import org.apache.axis.message.SOAPBodyElement;
import org.apache.axis.message.SOAPEnvelope;

/**
 * The W3C echo as an Axis message-style service: EchoTest in, EchoTest out, every Data value
 * read from inline base64, an href/ref (SwA) or a xop:Include, and written back inline
 * ("plain") or as a DataHandler, which Axis serialises as an attachment in the format the
 * server was started with ("swa", "mtom", "dime") or the request's ("same": attachments only
 * if the request had some).
 */
public class EchoService {
    /** MessageContext property holding the server's reply mode. */
    public static final String REPLY_MODE = "mtompeer.reply";

    public void EchoTest(SOAPEnvelope req, SOAPEnvelope resp) throws Exception {
        MessageContext mc = MessageContext.getCurrentContext();
        Message request = mc.getRequestMessage();
        MessageElement echo = req.getFirstBody();
        List<Values.Value> values = Values.read(echo, request);
        if (values.isEmpty()) {
            throw new org.apache.axis.AxisFault("Client", "EchoTest without Data", null, null);
        }
        String mode = String.valueOf(mc.getProperty(REPLY_MODE));
        Attachments reqAtt = request.getAttachmentsImpl();
        int requestType = reqAtt == null || reqAtt.getAttachmentCount() == 0
                ? Attachments.SEND_TYPE_NONE : reqAtt.getSendType();
        int sendType;
        switch (mode) {
            case "swa": sendType = Attachments.SEND_TYPE_MIME; break;
            case "mtom": sendType = Attachments.SEND_TYPE_MTOM; break;
            case "dime": sendType = Attachments.SEND_TYPE_DIME; break;
            case "same": sendType = requestType; break;
            default: sendType = Attachments.SEND_TYPE_NONE;
        }
        Message response = mc.getResponseMessage();
        SOAPBodyElement out = new SOAPBodyElement(new PrefixedQName(Values.DATA_NS, "EchoTest", "x"));
        resp.addBodyElement(out);
        for (Values.Value v : values) {
            MessageElement d = (MessageElement) out.addChildElement("Data", "x", Values.DATA_NS);
            if (v.contentType != null) {
                d.addAttribute("xmime", Values.XMIME_NS, "contentType", v.contentType);
            }
            if (sendType == Attachments.SEND_TYPE_NONE) {
                d.addTextNode(java.util.Base64.getEncoder().encodeToString(v.bytes));
            } else {
                // As Axis writes a DataHandler: href="cid:" (SwA, DIME) or xop:Include (MTOM).
                d.setObjectValue(new DataHandler(new Values.Bytes(v.bytes, v.contentType)));
            }
        }
        if (sendType != Attachments.SEND_TYPE_NONE) {
            response.getAttachmentsImpl().setSendType(sendType);
        }
    }
}
