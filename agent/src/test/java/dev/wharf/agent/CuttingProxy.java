package dev.wharf.agent;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A loopback TCP proxy in front of the gateway that cuts the first connection carrying a request for
 * {@code /content} after {@code cutAfter} bytes of its answer: a link that drops (or, with {@code stall},
 * goes silent) in the middle of a download.
 * It records the request heads it forwarded, so a test can see the Range the agent resumed with.
 */
final class CuttingProxy implements AutoCloseable {

  private final ServerSocket server;
  private final int upstreamPort;
  private final long cutAfter;
  private final boolean stall;
  private final AtomicBoolean cut = new AtomicBoolean();
  final List<String> requests = new CopyOnWriteArrayList<>();

  CuttingProxy(int upstreamPort, long cutAfter) throws IOException {
    this(upstreamPort, cutAfter, false);
  }

  /** With {@code stall}, the connection is not closed at the cut but goes silent: a link that hangs. */
  CuttingProxy(int upstreamPort, long cutAfter, boolean stall) throws IOException {
    this.stall = stall;
    this.upstreamPort = upstreamPort;
    this.cutAfter = cutAfter;
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread acceptor = new Thread(this::accept, "cutting-proxy");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  int port() {
    return server.getLocalPort();
  }

  boolean hasCut() {
    return cut.get();
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket client = server.accept();
        Socket upstream = new Socket(InetAddress.getLoopbackAddress(), upstreamPort);
        AtomicBoolean contentRequested = new AtomicBoolean();
        daemon(() -> pumpRequests(client, upstream, contentRequested));
        daemon(() -> pumpAnswers(upstream, client, contentRequested));
      } catch (IOException e) {
        return;
      }
    }
  }

  private void pumpRequests(Socket client, Socket upstream, AtomicBoolean contentRequested) {
    byte[] buffer = new byte[16 * 1024];
    try (InputStream in = client.getInputStream(); OutputStream out = upstream.getOutputStream()) {
      int n;
      while ((n = in.read(buffer)) >= 0) {
        String text = new String(buffer, 0, n, StandardCharsets.ISO_8859_1);
        if (text.startsWith("GET ") || text.startsWith("POST ")) {
          requests.add(text.substring(0, Math.max(0, text.indexOf("\r\n\r\n"))));
          if (text.startsWith("GET ") && text.substring(0, text.indexOf('\n')).contains("/content")) {
            contentRequested.set(true);
          }
        }
        out.write(buffer, 0, n);
        out.flush();
      }
    } catch (IOException e) {
      // one side closed
    } finally {
      closeQuietly(client, upstream);
    }
  }

  private void pumpAnswers(Socket upstream, Socket client, AtomicBoolean contentRequested) {
    byte[] buffer = new byte[16 * 1024];
    long forwarded = 0;
    try (InputStream in = upstream.getInputStream(); OutputStream out = client.getOutputStream()) {
      int n;
      while ((n = in.read(buffer)) >= 0) {
        if (contentRequested.get() && !cut.get()) {
          long room = cutAfter - forwarded;
          if (n >= room) {
            out.write(buffer, 0, (int) room);
            out.flush();
            cut.set(true);
            if (stall) {
              // Hold both sockets open and forward nothing more: the client sees silence, not an error.
              while (in.read(buffer) >= 0) {
                // drained and dropped
              }
              return;
            }
            closeQuietly(client, upstream);
            return;
          }
          forwarded += n;
        }
        out.write(buffer, 0, n);
        out.flush();
      }
    } catch (IOException e) {
      // one side closed
    } finally {
      closeQuietly(client, upstream);
    }
  }

  private static void daemon(Runnable r) {
    Thread t = new Thread(r, "cutting-proxy-pump");
    t.setDaemon(true);
    t.start();
  }

  private static void closeQuietly(Socket... sockets) {
    for (Socket s : sockets) {
      try {
        s.close();
      } catch (IOException e) {
        // already closed
      }
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
  }
}
