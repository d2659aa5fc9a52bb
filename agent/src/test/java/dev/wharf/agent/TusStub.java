package dev.wharf.agent;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A stand-in for the gateway's tus endpoint, written from the contract the agent codes against (POST, HEAD,
 * PATCH with Upload-Checksum, DELETE, 409/460/413/422, and GET /v1/files/{id}), used while the gateway's own
 * /v1/tus is not on this branch. Bytes go to a folder; only what a PATCH fully received counts.
 */
final class TusStub implements AutoCloseable {

  static final class Upload {
    final String id;
    final long length;
    final String sha256;
    final String filename;
    final Path data;
    final ReentrantLock patching = new ReentrantLock();
    volatile long offset;
    volatile boolean completed;

    Upload(String id, long length, String sha256, String filename, Path data) {
      this.id = id;
      this.length = length;
      this.sha256 = sha256;
      this.filename = filename;
      this.data = data;
    }
  }

  private final HttpServer server;
  private final String token;
  private final long maxBytes;
  private final Path folder;
  final Map<String, Upload> uploads = new ConcurrentHashMap<>();

  TusStub(String token, long maxBytes, Path folder) throws IOException {
    this.token = token;
    this.maxBytes = maxBytes;
    this.folder = folder;
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
    server.setExecutor(Executors.newFixedThreadPool(4, r -> {
      Thread t = new Thread(r, "tus-stub");
      t.setDaemon(true);
      return t;
    }));
    server.createContext("/v1/tus", this::tus);
    server.createContext("/v1/files", this::files);
    server.start();
  }

  /** Runs the stub alone (for agent/bench/upload-memory.sh before a gateway with /v1/tus is at hand): TOKEN DIR. */
  public static void main(String[] args) throws Exception {
    TusStub stub = new TusStub(args[0], Long.MAX_VALUE, Path.of(args[1]));
    System.out.println(stub.url());
    Thread.currentThread().join();
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  long completedCount() {
    return uploads.values().stream().filter(u -> u.completed).count();
  }

  private boolean authorized(HttpExchange ex) throws IOException {
    if (!("Bearer " + token).equals(ex.getRequestHeaders().getFirst("Authorization"))) {
      problem(ex, 401, "unauthorized", "a bearer token is required");
      return false;
    }
    return true;
  }

  private void tus(HttpExchange ex) throws IOException {
    try (ex) {
      if (!authorized(ex)) {
        return;
      }
      if (!"1.0.0".equals(ex.getRequestHeaders().getFirst("Tus-Resumable"))) {
        problem(ex, 412, "tus_version", "Tus-Resumable 1.0.0 required");
        return;
      }
      String path = ex.getRequestURI().getPath();
      String method = ex.getRequestMethod();
      if (path.equals("/v1/tus") && method.equals("POST")) {
        create(ex);
        return;
      }
      Upload u = uploads.get(path.substring(path.lastIndexOf('/') + 1));
      if (u == null) {
        problem(ex, 404, "not_found", "upload not found");
        return;
      }
      switch (method) {
        case "HEAD" -> {
          ex.getResponseHeaders().add("Upload-Offset", Long.toString(u.offset));
          ex.getResponseHeaders().add("Upload-Length", Long.toString(u.length));
          ex.getResponseHeaders().add("Tus-Resumable", "1.0.0");
          ex.sendResponseHeaders(200, -1);
        }
        case "PATCH" -> patch(ex, u);
        case "DELETE" -> {
          uploads.remove(u.id);
          Files.deleteIfExists(u.data);
          ex.sendResponseHeaders(204, -1);
        }
        default -> problem(ex, 405, "method_not_allowed", method);
      }
    }
  }

  private void create(HttpExchange ex) throws IOException {
    long length = Long.parseLong(ex.getRequestHeaders().getFirst("Upload-Length"));
    if (length > maxBytes) {
      problem(ex, 413, "payload_too_large", "the upload is larger than the " + maxBytes + " byte limit");
      return;
    }
    String sha = null;
    String filename = null;
    for (String pair : ex.getRequestHeaders().getFirst("Upload-Metadata").split(",")) {
      String[] kv = pair.trim().split(" ");
      String value = new String(Base64.getDecoder().decode(kv[1]), StandardCharsets.UTF_8);
      if (kv[0].equals("sha256")) {
        sha = value;
      } else if (kv[0].equals("filename")) {
        filename = value;
      }
    }
    String id = UUID.randomUUID().toString();
    Path data = folder.resolve(id);
    Files.createFile(data);
    uploads.put(id, new Upload(id, length, sha, filename, data));
    ex.getResponseHeaders().add("Location", "/v1/tus/" + id);
    ex.getResponseHeaders().add("Upload-Expires", "Wed, 02 Dec 2026 23:00:00 GMT");
    ex.sendResponseHeaders(201, -1);
  }

  private void patch(HttpExchange ex, Upload u) throws IOException {
    if (!u.patching.tryLock()) {
      problem(ex, 409, "upload_busy", "another PATCH is running");
      return;
    }
    try {
      long offset = Long.parseLong(ex.getRequestHeaders().getFirst("Upload-Offset"));
      if (offset != u.offset || u.completed) {
        problem(ex, 409, "offset_mismatch", "the upload is at " + u.offset);
        return;
      }
      MessageDigest chunk = sha256();
      long received = 0;
      try (InputStream in = ex.getRequestBody(); OutputStream out = Files.newOutputStream(u.data, StandardOpenOption.APPEND)) {
        byte[] buffer = new byte[64 * 1024];
        int n;
        while ((n = in.read(buffer)) >= 0) {
          out.write(buffer, 0, n);
          chunk.update(buffer, 0, n);
          received += n;
        }
      } catch (IOException e) {
        truncate(u);
        throw e;
      }
      String checksum = ex.getRequestHeaders().getFirst("Upload-Checksum");
      if (checksum != null && !checksum.equals("sha256 " + Base64.getEncoder().encodeToString(chunk.digest()))) {
        truncate(u);
        problem(ex, 460, "checksum_mismatch", "chunk checksum mismatch");
        return;
      }
      u.offset = offset + received;
      if (u.offset == u.length) {
        MessageDigest whole = sha256();
        try (InputStream in = Files.newInputStream(u.data)) {
          byte[] buffer = new byte[64 * 1024];
          int n;
          while ((n = in.read(buffer)) >= 0) {
            whole.update(buffer, 0, n);
          }
        }
        if (!HexFormat.of().formatHex(whole.digest()).equals(u.sha256)) {
          uploads.remove(u.id);
          problem(ex, 422, "checksum_mismatch", "the content does not match the declared sha256");
          return;
        }
        u.completed = true;
      }
      ex.getResponseHeaders().add("Upload-Offset", Long.toString(u.offset));
      ex.sendResponseHeaders(204, -1);
    } finally {
      u.patching.unlock();
    }
  }

  private void truncate(Upload u) throws IOException {
    try (var ch = java.nio.channels.FileChannel.open(u.data, StandardOpenOption.WRITE)) {
      ch.truncate(u.offset);
    }
  }

  private void files(HttpExchange ex) throws IOException {
    try (ex) {
      if (!authorized(ex)) {
        return;
      }
      String path = ex.getRequestURI().getPath();
      Upload u = uploads.get(path.substring(path.lastIndexOf('/') + 1));
      if (u == null) {
        problem(ex, 404, "not_found", "file not found");
        return;
      }
      String body = "{\"id\":\"" + u.id + "\",\"status\":\"" + (u.completed ? "processed" : "uploading") + "\",\"size\":" + u.length
          + ",\"sha256\":\"" + u.sha256 + "\",\"filename\":\"" + u.filename + "\"}";
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().add("Content-Type", "application/json");
      ex.sendResponseHeaders(200, bytes.length);
      ex.getResponseBody().write(bytes);
    }
  }

  private static void problem(HttpExchange ex, int status, String code, String detail) throws IOException {
    byte[] body = ("{\"code\":\"" + code + "\",\"detail\":\"" + detail + "\",\"status\":" + status + "}").getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().add("Content-Type", "application/problem+json");
    if (ex.getRequestMethod().equals("HEAD")) {
      ex.sendResponseHeaders(status, -1);
      return;
    }
    ex.sendResponseHeaders(status, body.length);
    ex.getResponseBody().write(body);
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
