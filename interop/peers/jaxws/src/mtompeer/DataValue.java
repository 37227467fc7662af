package mtompeer;

import javax.xml.bind.annotation.XmlAccessType;
import javax.xml.bind.annotation.XmlAccessorType;
import javax.xml.bind.annotation.XmlAttribute;
import javax.xml.bind.annotation.XmlType;
import javax.xml.bind.annotation.XmlValue;

/**
 * One {@code Data} element: binary content (xs:base64Binary, optimisable with MTOM) plus the
 * optional {@code xmime:contentType} attribute. JAXB RI uses that attribute as the MIME type of
 * the attachment part when it writes the value as an xop:Include.
 */
@XmlAccessorType(XmlAccessType.FIELD)
@XmlType(name = "DataType")
public class DataValue {
    @XmlValue
    public byte[] value;

    @XmlAttribute(name = "contentType", namespace = Names.XMIME_NS)
    public String contentType;

    public DataValue() {}

    public DataValue(byte[] value, String contentType) {
        this.value = value;
        this.contentType = contentType;
    }
}
