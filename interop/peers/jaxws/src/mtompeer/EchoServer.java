package mtompeer;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import javax.xml.ws.Endpoint;
import javax.xml.ws.soap.MTOMFeature;

/**
 * Publishes the MTOM echo service on 127.0.0.1: SOAP 1.1 at /echo11, SOAP 1.2 at /echo12
 * (WSDL at ?wsdl on each). Options:
 * <pre>
 *   --port N          TCP port, 0 (default) for any free one
 *   --port-file PATH  write the bound port there once the server accepts connections
 *   --threshold N     MTOM threshold in bytes (default 0: optimise every value)
 *   --mtom on|off     enable MTOM on the endpoints (default on)
 *   --parent-pid PID  exit once that process is gone (no orphaned servers if the tests die)
 * </pre>
 * Runs until killed.
 */
public final class EchoServer {
    private EchoServer() {}

    public static void main(String[] args) throws IOException {
        int port = 0;
        int threshold = 0;
        boolean mtom = true;
        String portFile = null;
        long parentPid = 0;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (i + 1 >= args.length) {
                usage("missing value for " + a);
            }
            String v = args[++i];
            switch (a) {
                case "--port": port = Integer.parseInt(v); break;
                case "--threshold": threshold = Integer.parseInt(v); break;
                case "--mtom": mtom = parseOnOff(v); break;
                case "--port-file": portFile = v; break;
                case "--parent-pid": parentPid = Long.parseLong(v); break;
                default: usage("unknown option " + a);
            }
        }

        if (parentPid > 0) {
            watchParent(parentPid);
        }
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 50);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        server.setExecutor(pool);
        MTOMFeature feature = new MTOMFeature(mtom, threshold);
        Endpoint.create(new EchoService11(), feature).publish(server.createContext("/echo11"));
        Endpoint.create(new EchoService12(), feature).publish(server.createContext("/echo12"));
        server.start();

        int bound = server.getAddress().getPort();
        if (portFile != null) {
            Path target = Paths.get(portFile);
            Path tmp = Paths.get(portFile + ".tmp");
            Files.write(tmp, Integer.toString(bound).getBytes(StandardCharsets.US_ASCII));
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
        }
        System.out.println("READY http://127.0.0.1:" + bound + "/echo11 http://127.0.0.1:" + bound
                + "/echo12 mtom=" + mtom + " threshold=" + threshold);
        System.out.flush();
    }

    private static void watchParent(long pid) {
        Thread watcher = new Thread(() -> {
            while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException e) {
                    return;
                }
            }
            System.err.println("EchoServer: parent " + pid + " gone, exiting");
            System.exit(0);
        }, "parent-watch");
        watcher.setDaemon(true);
        watcher.start();
    }

    static boolean parseOnOff(String v) {
        switch (v) {
            case "on": case "true": case "1": case "mtom": return true;
            case "off": case "false": case "0": case "plain": return false;
            default: usage("expected on/off, got " + v); return false;
        }
    }

    static void usage(String why) {
        System.err.println("EchoServer: " + why);
        System.err.println("usage: EchoServer [--port N] [--port-file PATH] [--threshold N]"
                + " [--mtom on|off] [--parent-pid PID]");
        System.exit(64);
    }
}
