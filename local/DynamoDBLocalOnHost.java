// Starts DynamoDB Local listening on one address only (DynamoDB Local 3.x has no option for it: it
// listens on every interface). Run as a single source file (java 11+), with DynamoDB Local's jar and
// libraries on the class path:
//   java -cp DynamoDBLocal.jar:DynamoDBLocal_lib/* local/DynamoDBLocalOnHost.java <host> <DynamoDB Local options>
// It builds the server as DynamoDB Local's own main does, sets the host of its Jetty connectors, starts it.
// With DYNAMODB_REQUEST_LOG set to a file (make load sets it), every request it answered is appended there
// as one line, "<epoch ms at the answer> <operation> <HTTP status>" (the operation from X-Amz-Target, e.g.
// GetItem): nothing of the request's body, so no address or key is written.
import java.io.FileWriter;
import java.io.PrintWriter;
import java.lang.reflect.Field;
import java.util.Arrays;

public class DynamoDBLocalOnHost {
    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: DynamoDBLocalOnHost <host> [DynamoDB Local options]");
            System.exit(2);
        }
        String host = args[0];
        var proxy = software.amazon.dynamodb.services.local.main.ServerRunner
            .createServerFromCommandLineArgs(Arrays.copyOfRange(args, 1, args.length));
        Field field = proxy.getClass().getDeclaredField("server");
        field.setAccessible(true);
        var server = (org.eclipse.jetty.server.Server) field.get(proxy);
        int bound = 0;
        for (var connector : server.getConnectors()) {
            if (connector instanceof org.eclipse.jetty.server.ServerConnector c) {
                c.setHost(host);
                bound++;
            }
        }
        if (bound == 0) {
            System.err.println("DynamoDBLocalOnHost: no connector to bind to " + host);
            System.exit(1);
        }
        String requestLog = System.getenv("DYNAMODB_REQUEST_LOG");
        if (requestLog != null && !requestLog.isEmpty()) {
            var out = new PrintWriter(new FileWriter(requestLog, true), true);
            server.setRequestLog((request, response) -> {
                String target = request.getHeaders().get("X-Amz-Target");
                String operation = target == null ? "-" : target.substring(target.lastIndexOf('.') + 1).replaceAll("\\s", "_");
                synchronized (out) {
                    out.println(System.currentTimeMillis() + " " + operation + " " + response.getStatus());
                }
            });
        }
        proxy.start();
        System.out.println("DynamoDB Local listening on " + host);
        proxy.join();
    }
}
