package mtompeer.axis;

import javax.activation.DataHandler;

/** An RPC service taking and returning a DataHandler: what Axis publishes for an SwA service.
 *  Only its generated WSDL is used (GET /swa?wsdl on {@link EchoServer}). */
public class SwaEcho {
    public DataHandler echo(DataHandler value) {
        return value;
    }
}
