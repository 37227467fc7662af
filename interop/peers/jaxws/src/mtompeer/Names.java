package mtompeer;

/** Namespace URIs and names shared by the echo service and client. */
public final class Names {
    public static final String DATA_NS = "http://example.org/mtom/data";
    public static final String SERVICE_NS = "http://example.org/mtom";
    public static final String XMIME_NS = "http://www.w3.org/2005/05/xmlmime";

    private Names() {}
}
