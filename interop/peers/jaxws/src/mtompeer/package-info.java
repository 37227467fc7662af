/**
 * JAXB binding of the W3C MTOM CR interop schema: element {@code EchoTest} in
 * {@code http://example.org/mtom/data} holding one or more {@code Data} elements whose type
 * extends xs:base64Binary with an optional {@code xmime:contentType} attribute.
 */
@XmlSchema(
        namespace = Names.DATA_NS,
        elementFormDefault = XmlNsForm.QUALIFIED,
        attributeFormDefault = XmlNsForm.UNQUALIFIED,
        xmlns = {
            @XmlNs(prefix = "x", namespaceURI = Names.DATA_NS),
            @XmlNs(prefix = "xmime", namespaceURI = Names.XMIME_NS)
        })
package mtompeer;

import javax.xml.bind.annotation.XmlNs;
import javax.xml.bind.annotation.XmlNsForm;
import javax.xml.bind.annotation.XmlSchema;
