package mtompeer;

import java.util.ArrayList;
import java.util.List;
import javax.xml.bind.annotation.XmlAccessType;
import javax.xml.bind.annotation.XmlAccessorType;
import javax.xml.bind.annotation.XmlElement;
import javax.xml.bind.annotation.XmlRootElement;
import javax.xml.bind.annotation.XmlType;

/** The {@code EchoTest} wrapper: one or more {@code Data} elements. */
@XmlRootElement(name = "EchoTest")
@XmlAccessorType(XmlAccessType.FIELD)
@XmlType(name = "EchoTestType")
public class EchoTest {
    @XmlElement(name = "Data", required = true)
    public List<DataValue> data = new ArrayList<>();
}
