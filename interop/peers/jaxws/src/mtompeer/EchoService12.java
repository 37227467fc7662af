package mtompeer;

import javax.annotation.Resource;
import javax.jws.WebMethod;
import javax.jws.WebParam;
import javax.jws.WebResult;
import javax.jws.WebService;
import javax.jws.soap.SOAPBinding;
import javax.xml.ws.BindingType;
import javax.xml.ws.WebServiceContext;
import javax.xml.ws.soap.MTOM;

/** SOAP 1.2 echo endpoint, document/literal bare: EchoTest in, EchoTest out. */
@WebService(name = "EchoPortType", serviceName = "EchoService12", portName = "EchoPort12",
        targetNamespace = Names.SERVICE_NS)
@SOAPBinding(parameterStyle = SOAPBinding.ParameterStyle.BARE)
@BindingType(javax.xml.ws.soap.SOAPBinding.SOAP12HTTP_MTOM_BINDING)
@MTOM(enabled = true, threshold = 0)
public class EchoService12 {
    @Resource
    private WebServiceContext ctx;

    @WebMethod(operationName = "EchoTest", action = "")
    @WebResult(name = "EchoTest", targetNamespace = Names.DATA_NS, partName = "out")
    public EchoTest echoTest(
            @WebParam(name = "EchoTest", targetNamespace = Names.DATA_NS, partName = "in")
            EchoTest in) {
        return Echo.echo(in, ctx, true);
    }
}
