package dev.wharf.devstack;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP proxy in front of the S3 server that can be told to misbehave: forward (the default), stall (hold every
 * byte both ways, on open connections and new ones, as a storage that is connected but stopped answering), or
 * fail (drop the open connections and answer every new request with an HTTP error status and S3's XML error
 * body, as a storage returning 5xx). Runs on plain threads of its own; nothing of the gateway's. The fault tests
 * of both the storage client (core) and the whole gateway put it in front of the embedded s3proxy.
 */
public final class FaultProxy implements AutoCloseable {

  private enum Mode { FORWARD, STALL, FAIL }

  private final ServerSocket server;
  private final String targetHost;
  private final int targetPort;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final Object gate = new Object();
  private volatile Mode mode = Mode.FORWARD;
  private volatile int failStatus = 503;
  public FaultProxy(String targetHost, int targetPort) throws IOException {
    this.server = new ServerSocket(0);
    this.targetHost = targetHost;
    this.targetPort = targetPort;
    Thread acceptor = new Thread(this::accept, "fault-proxy-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  public int port() {
    return server.getLocalPort();
  }

  /** Passes bytes both ways again (the default); stalled bytes go on. */
  public void forward() {
    set(Mode.FORWARD);
  }

  /** Holds every byte both ways, on open connections and new ones, until {@link #forward}. */
  public void stall() {
    set(Mode.STALL);
  }

  /** Answers {@code status} (500, 503) to every request from now on; open connections are cut. */
  public void fail(int status) {
    failStatus = status;
    set(Mode.FAIL);
    closeOpen();
  }

  private void set(Mode m) {
    synchronized (gate) {
      mode = m;
      gate.notifyAll();
    }
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket client = server.accept();
        sockets.add(client);
        if (mode == Mode.FAIL) {
          answerError(client);
          continue;
        }
        Socket upstream = new Socket(targetHost, targetPort);
        sockets.add(upstream);
        pump(client, upstream);
        pump(upstream, client);
      } catch (IOException e) {
        if (server.isClosed()) {
          return;
        }
      }
    }
  }

  /** Reads the request's head and answers the error status with S3's error body; the connection then closes. */
  private void answerError(Socket client) {
    Thread t = new Thread(() -> {
      try (client; InputStream in = client.getInputStream(); OutputStream out = client.getOutputStream()) {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) >= 0) {
          head.write(b);
          byte[] h = head.toByteArray();
          int n = h.length;
          if (n >= 4 && h[n - 4] == '\r' && h[n - 3] == '\n' && h[n - 2] == '\r' && h[n - 1] == '\n') {
            break;
          }
        }
        int status = failStatus;
        String code = status == 503 ? "SlowDown" : "InternalError";
        String body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + code + "</Code><Message>injected by the fault suite"
            + "</Message><RequestId>fault</RequestId></Error>";
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        out.write(("HTTP/1.1 " + status + (status == 503 ? " Slow Down" : " Internal Server Error") + "\r\nContent-Type: application/xml\r\n"
            + "Content-Length: " + bytes.length + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(bytes);
        out.flush();
      } catch (IOException e) {
        // the client went away first
      } finally {
        sockets.remove(client);
      }
    }, "fault-proxy-error");
    t.setDaemon(true);
    t.start();
  }

  private void pump(Socket from, Socket to) {
    Thread t = new Thread(() -> {
      byte[] buffer = new byte[64 * 1024];
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        int n;
        while ((n = in.read(buffer)) >= 0) {
          synchronized (gate) {
            while (mode == Mode.STALL) {
              gate.wait(1000);
            }
          }
          if (mode == Mode.FAIL) {
            break;
          }
          out.write(buffer, 0, n);
          out.flush();
        }
      } catch (IOException | InterruptedException e) {
        // the connection ended
      } finally {
        quietClose(from);
        quietClose(to);
        sockets.remove(from);
        sockets.remove(to);
      }
    }, "fault-proxy-pump");
    t.setDaemon(true);
    t.start();
  }

  private void closeOpen() {
    for (Socket s : sockets) {
      quietClose(s);
    }
  }

  private static void quietClose(Socket s) {
    try {
      s.close();
    } catch (IOException e) {
      // already closed
    }
  }

  @Override
  public void close() throws IOException {
    forward();
    server.close();
    closeOpen();
  }
}
