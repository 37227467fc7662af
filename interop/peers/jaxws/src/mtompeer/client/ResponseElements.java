package mtompeer.client;

import javax.xml.bind.JAXBElement;
import javax.xml.bind.annotation.XmlElementDecl;
import javax.xml.bind.annotation.XmlRegistry;
import javax.xml.namespace.QName;
import mtompeer.EchoTest;
import mtompeer.Names;

/**
 * Lets the client accept an {@code EchoTestResponse} root as well as {@code EchoTest}, both in
 * the data namespace and of the same type (servers other than ours may name the reply so).
 */
@XmlRegistry
public class ResponseElements {
    static final QName ECHO_TEST_RESPONSE = new QName(Names.DATA_NS, "EchoTestResponse");

    @XmlElementDecl(namespace = Names.DATA_NS, name = "EchoTestResponse")
    public JAXBElement<EchoTest> createEchoTestResponse(EchoTest value) {
        return new JAXBElement<>(ECHO_TEST_RESPONSE, EchoTest.class, value);
    }
}
