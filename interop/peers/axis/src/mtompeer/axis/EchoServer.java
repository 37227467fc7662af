package mtompeer.axis;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.Executors;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import org.apache.axis.AxisFault;
import org.apache.axis.Message;
import org.apache.axis.MessageContext;
import org.apache.axis.configuration.SimpleProvider;
import org.apache.axis.handlers.soap.SOAPService;
import org.apache.axis.providers.java.MsgProvider;
import org.apache.axis.providers.java.RPCProvider;
import org.apache.axis.server.AxisServer;

/**
 * Apache Axis 1.4 engine behind the JDK's HTTP server, on 127.0.0.1 only.
 *
 * POST /echo11, /echo12: the W3C echo ({@link EchoService}, message style); the SOAP version is
 * the request's. GET /echo11?wsdl, /echo12?wsdl: the project's W3C WSDL. GET /swa?wsdl: Axis's
 * own WSDL of an RPC service taking a DataHandler (what Axis publishes for SwA services).
 * Axis reads every request (MTOM, SwA, DIME, plain) from the bytes received and its reply is
 * written with a Content-Length counted from the bytes Axis wrote.
 *
 * Usage: EchoServer --port-file F --wsdl F [--reply same|plain|swa|mtom|dime] [--parent-pid P]
 */
public final class EchoServer {
    private EchoServer() {
    }

    public static void main(String[] args) throws Exception {
        String portFile = null;
        String wsdlFile = null;
        String reply = "same";
        long parentPid = 0;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--port-file": portFile = args[++i]; break;
                case "--wsdl": wsdlFile = args[++i]; break;
                case "--reply": reply = args[++i]; break;
                case "--parent-pid": parentPid = Long.parseLong(args[++i]); break;
                default: throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        if (portFile == null || wsdlFile == null) {
            throw new IllegalArgumentException("--port-file and --wsdl are required");
        }
        String wsdlTemplate = new String(Files.readAllBytes(Paths.get(wsdlFile)), StandardCharsets.UTF_8);

        SimpleProvider config = new SimpleProvider();
        SOAPService echo = new SOAPService(new MsgProvider());
        echo.setStyle(org.apache.axis.constants.Style.MESSAGE);
        echo.setUse(org.apache.axis.constants.Use.LITERAL);
        echo.setOption("className", EchoService.class.getName());
        echo.setOption("allowedMethods", "EchoTest");
        config.deployService("EchoService", echo);
        SOAPService swa = new SOAPService(new RPCProvider());
        swa.setOption("className", SwaEcho.class.getName());
        swa.setOption("allowedMethods", "echo");
        config.deployService("SwaEcho", swa);
        AxisServer engine = new AxisServer(config);

        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        int port = server.getAddress().getPort();
        String base = "http://127.0.0.1:" + port;
        String wsdl = wsdlTemplate.replace("@BASE_URL@", base);
        final String mode = reply;
        server.createContext("/", exchange -> {
            try {
                handle(exchange, engine, base, wsdl, mode);
            } catch (Throwable t) {
                t.printStackTrace();
                byte[] msg = String.valueOf(t).getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
                exchange.sendResponseHeaders(500, msg.length);
                try (OutputStream os = exchange.getResponseBody()) {
                    os.write(msg);
                }
            } finally {
                exchange.close();
            }
        });
        server.setExecutor(Executors.newFixedThreadPool(4));
        server.start();
        Path tmp = Paths.get(portFile + ".tmp");
        Files.write(tmp, String.valueOf(port).getBytes(StandardCharsets.US_ASCII));
        Files.move(tmp, Paths.get(portFile), StandardCopyOption.ATOMIC_MOVE);
        System.out.println("listening on " + base + " (reply mode " + reply + ")");
        System.out.flush();
        if (parentPid > 0) {
            final long ppid = parentPid;
            Thread watch = new Thread(() -> {
                while (ProcessHandle.of(ppid).map(ProcessHandle::isAlive).orElse(false)) {
                    try {
                        Thread.sleep(1000);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                System.exit(0);
            });
            watch.setDaemon(true);
            watch.start();
        }
    }

    private static void send(HttpExchange ex, int status, String contentType, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", contentType);
        ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        try (OutputStream os = ex.getResponseBody()) {
            os.write(body);
        }
    }

    private static void handle(HttpExchange ex, AxisServer engine, String base, String wsdl, String mode)
            throws Exception {
        String path = ex.getRequestURI().getPath();
        String query = ex.getRequestURI().getQuery();
        if ("GET".equals(ex.getRequestMethod())) {
            if ("wsdl".equalsIgnoreCase(query) && (path.equals("/echo11") || path.equals("/echo12"))) {
                send(ex, 200, "text/xml; charset=utf-8", wsdl.getBytes(StandardCharsets.UTF_8));
            } else if ("wsdl".equalsIgnoreCase(query) && path.equals("/swa")) {
                MessageContext mc = new MessageContext(engine);
                mc.setTargetService("SwaEcho");
                mc.setProperty(MessageContext.TRANS_URL, base + "/swa");
                engine.generateWSDL(mc);
                org.w3c.dom.Document doc = (org.w3c.dom.Document) mc.getProperty("WSDL");
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                org.apache.axis.utils.XMLUtils.DocumentToStream(doc, out);
                send(ex, 200, "text/xml; charset=utf-8", out.toByteArray());
            } else {
                send(ex, 404, "text/plain", "use /echo11 or /echo12\n".getBytes(StandardCharsets.UTF_8));
            }
            return;
        }
        if (!"POST".equals(ex.getRequestMethod())) {
            send(ex, 405, "text/plain", new byte[0]);
            return;
        }
        String ct = ex.getRequestHeaders().getFirst("Content-Type");
        String tag = path.startsWith("/echo12") ? "soap12" : "soap11";
        System.out.println("[" + tag + "] request Content-Type: " + ct);
        System.out.flush();
        byte[] body = Values.readAll(ex.getRequestBody());
        MessageContext mc = new MessageContext(engine);
        mc.setTransportName("http");
        mc.setProperty(MessageContext.TRANS_URL, base + path);
        mc.setProperty(EchoService.REPLY_MODE, mode);
        String action = ex.getRequestHeaders().getFirst("SOAPAction");
        if (action != null) {
            mc.setSOAPActionURI(action.replace("\"", ""));
        }
        Message request = new Message(new ByteArrayInputStream(body), false, ct, null);
        mc.setRequestMessage(request);
        mc.setTargetService(path.equals("/swa") ? "SwaEcho" : "EchoService");
        Message response;
        int status = 200;
        try {
            engine.invoke(mc);
            response = mc.getResponseMessage();
        } catch (AxisFault fault) {
            response = new Message(fault);
            response.setMessageContext(mc);
            status = 500;
        }
        if (response == null) {
            send(ex, 202, "text/plain", new byte[0]);
            return;
        }
        String rct = response.getContentType(mc.getSOAPConstants());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        response.writeTo(out);
        send(ex, status, rct, out.toByteArray());
    }
}
