package dev.wharf.agent.upload;

import com.fasterxml.jackson.databind.JsonNode;
import dev.wharf.agent.AgentException;
import dev.wharf.agent.Exit;
import dev.wharf.agent.Units;
import dev.wharf.agent.http.Gateway;
import dev.wharf.agent.http.Refusal;
import java.io.IOException;
import java.io.PrintStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;

/**
 * One file uploaded over tus 1.0.0 ({@code /v1/tus}), resumable across processes: the whole-file SHA-256 is
 * computed first (streamed) and sent as metadata, the upload's location is recorded in the
 * {@link UploadManifest} before any byte is sent, and every chunk goes as a {@code PATCH} with its own
 * {@code Upload-Checksum}. A rerun HEADs the recorded location and resumes where the gateway stands; a file
 * whose size or mtime changed starts over; an upload the gateway no longer knows starts over, unless the
 * file it was to become already exists (then it was completed and is not sent twice).
 */
final class TusUpload {

  private static final String TUS = "1.0.0";
  private static final int MAX_CHUNK_RETRIES = 5;
  private static final Duration LOCKED_PATIENCE = Duration.ofMinutes(5);

  /** How one upload runs. */
  record Options(String priority, long chunkSize, RateLimit rate, boolean bar, boolean force) {}

  private final Gateway gateway;
  private final UploadManifest manifest;
  private final Options options;
  private final PrintStream out;
  private final PrintStream err;

  TusUpload(Gateway gateway, UploadManifest manifest, Options options, PrintStream out, PrintStream err) {
    this.gateway = gateway;
    this.manifest = manifest;
    this.options = options;
    this.out = out;
    this.err = err;
  }

  /** Uploads {@code file} (or finishes its earlier upload) and answers the Wharf file id. */
  String upload(Path file) {
    Path path = resolve(file);
    try (AutoCloseable lock = manifest.lock(path)) {
      return uploadLocked(path);
    } catch (AgentException e) {
      throw e;
    } catch (Exception e) {
      throw new AgentException(Exit.BAD_FILE, "cannot release the lock on " + path + ": " + e.getMessage());
    }
  }

  private String uploadLocked(Path path) {
    Stat stat = stat(path);
    String name = path.getFileName().toString();
    UploadManifest.Entry entry = manifest.load(path);
    long offset = 0;
    if (entry != null && (entry.size() != stat.size || entry.mtimeMillis() != stat.mtimeMillis)) {
      out.println(name + " changed since the last attempt (size or mtime differ); starting over");
      if (!entry.completed()) {
        terminate(entry);
      }
      manifest.delete(path);
      entry = null;
    } else if (entry != null && !entry.gateway().equals(gateway.baseUrl())) {
      out.println(name + " was begun on another gateway (" + entry.gateway() + "); starting over");
      manifest.delete(path);
      entry = null;
    }
    if (entry != null && entry.completed()) {
      if (!options.force()) {
        out.println(name + " already uploaded as " + entry.fileId() + " (--force uploads it again)");
        return entry.fileId();
      }
      manifest.delete(path);
      entry = null;
    }
    if (entry != null) {
      long[] server = head(entry);
      if (server == null) {
        if (completedOnGateway(entry)) {
          manifest.save(entry.asCompleted());
          out.println(name + " already uploaded as " + entry.fileId());
          return entry.fileId();
        }
        out.println(name + ": the gateway no longer knows the upload (expired); starting over");
        manifest.delete(path);
        entry = null;
      } else if (server[0] >= stat.size && completedOnGateway(entry)) {
        // Killed after the last PATCH reached the gateway but before the agent recorded it.
        manifest.save(entry.asCompleted());
        out.println(name + " already uploaded as " + entry.fileId());
        return entry.fileId();
      } else {
        offset = server[0];
        out.println("resuming " + name + " at " + offset + " of " + stat.size + " bytes");
      }
    }
    if (entry == null) {
      entry = create(path, name, stat);
    }
    boolean startedOver = false;
    while (true) {
      Progress progress = new Progress(out, options.bar(), name, stat.size);
      try {
        send(path, entry, stat, offset, progress);
        progress.finish();
        break;
      } catch (Lost lost) {
        // A lost answer to the last PATCH looks like this too: the upload may have completed meanwhile.
        if (completedOnGateway(entry)) {
          progress.finish();
          break;
        }
        manifest.delete(path);
        if (startedOver) {
          throw new AgentException(Exit.REFUSED, "the gateway dropped the upload of " + name + " twice; giving up");
        }
        out.println(name + ": the gateway dropped the upload (expired or removed); starting over");
        startedOver = true;
        entry = create(path, name, stat);
        offset = 0;
      }
    }
    manifest.save(entry.asCompleted());
    out.println("uploaded " + name + " as " + entry.fileId());
    return entry.fileId();
  }

  /** Hashes the file, POSTs the creation, records the location: nothing is sent before it is recorded. */
  private UploadManifest.Entry create(Path path, String name, Stat stat) {
    out.println("hashing " + name + " (" + Units.human(stat.size) + ")");
    MessageDigest digest = sha256();
    FileRegion.digest(path, 0, stat.size, digest);
    String sha = HexFormat.of().formatHex(digest.digest());
    requireUnchanged(path, stat, null);
    String metadata = "filename " + b64(name) + ",filetype " + b64(contentType(path)) + ",priority " + b64(options.priority())
        + ",sha256 " + b64(sha);
    HttpResponse<byte[]> response = gateway.send("create upload of " + name, () -> tus("/v1/tus", Duration.ofSeconds(30))
        .header("Upload-Length", Long.toString(stat.size))
        .header("Upload-Metadata", metadata)
        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofByteArray());
    int status = response.statusCode();
    if (status != 201) {
      Refusal r = refusal(response);
      if (status == 413) {
        throw new AgentException(Exit.TOO_LARGE, name + " (" + Units.human(stat.size) + ") is larger than the gateway accepts"
            + (r.detail() == null ? "" : ": " + r.detail()));
      }
      throw new AgentException(Exit.REFUSED, "the gateway refused the upload of " + name + ": " + r.getMessage());
    }
    String location = response.headers().firstValue("Location")
        .orElseThrow(() -> new AgentException(Exit.FAILED, "the gateway created an upload without a Location"));
    String locationPath = location.startsWith("http") ? java.net.URI.create(location).getRawPath() : location;
    String fileId = locationPath.substring(locationPath.lastIndexOf('/') + 1);
    UploadManifest.Entry entry = new UploadManifest.Entry(path.toString(), stat.size, stat.mtimeMillis, sha, gateway.baseUrl(),
        locationPath, fileId, false);
    manifest.save(entry);
    return entry;
  }

  /** PATCHes chunk after chunk from {@code offset} until the gateway holds the whole file. */
  private long send(Path path, UploadManifest.Entry entry, Stat stat, long offset, Progress progress) {
    int retries = 0;
    dev.wharf.agent.http.Backoff locked = null;
    long lockedSince = 0;
    while (offset < stat.size || stat.size == 0 && retries == 0) {
      requireUnchanged(path, stat, entry);
      long start = offset;
      long length = Math.min(options.chunkSize(), stat.size - offset);
      MessageDigest chunkDigest = sha256();
      FileRegion.digest(path, start, length, chunkDigest);
      String checksum = "sha256 " + Base64.getEncoder().encodeToString(chunkDigest.digest());
      Duration timeout = Duration.ofSeconds(60 + length / 16_384);
      HttpResponse<byte[]> response = gateway.send("upload of " + path.getFileName(), () -> tus(entry.location(), timeout)
          .header("Content-Type", "application/offset+octet-stream")
          .header("Upload-Offset", Long.toString(start))
          .header("Upload-Checksum", checksum)
          .method("PATCH", HttpRequest.BodyPublishers.fromPublisher(HttpRequest.BodyPublishers.ofInputStream(
              () -> FileRegion.stream(path, start, length, options.rate(), progress::sent)), length))
          .build(), HttpResponse.BodyHandlers.ofByteArray());
      int status = response.statusCode();
      if (status == 204 || status == 200) {
        locked = null;
        offset = response.headers().firstValue("Upload-Offset").map(Long::parseLong).orElse(start + length);
        progress.committed(offset);
        retries = 0;
        if (stat.size == 0) {
          break;
        }
        continue;
      }
      Refusal r = refusal(response);
      if (status == 409 && ("upload_locked".equals(r.code()) || response.headers().firstValue("Retry-After").isPresent())) {
        // Another request holds the upload's lease: the killed agent's last PATCH until the gateway notices,
        // or a second agent. Wait for the lease to lapse rather than give up.
        if (locked == null) {
          locked = gateway.newBackoff();
          lockedSince = System.nanoTime();
        } else if (System.nanoTime() - lockedSince > LOCKED_PATIENCE.toNanos()) {
          throw new AgentException(Exit.REFUSED, "another request has held the upload of " + path.getFileName() + " for "
              + Units.durationText(LOCKED_PATIENCE) + ": " + r.getMessage());
        }
        long retryAfter = response.headers().firstValue("Retry-After").map(v -> {
          try {
            return Long.parseLong(v.trim());
          } catch (NumberFormatException e) {
            return -1L;
          }
        }).orElse(-1L);
        Duration wait = locked.next(retryAfter);
        err.println("wharf-agent: the upload of " + path.getFileName() + " is busy (" + r.code() + "); retrying in " + Units.durationText(wait));
        dev.wharf.agent.http.Backoff.pause(wait);
        long[] server = head(entry);
        if (server == null) {
          throw new Lost();
        }
        offset = server[0];
        continue;
      }
      locked = null;
      if (status == 409 || status == 460) {
        if (++retries > MAX_CHUNK_RETRIES) {
          throw new AgentException(Exit.REFUSED, "the gateway kept refusing the chunk at " + start + " of " + path.getFileName() + ": "
              + r.getMessage());
        }
        long[] server = head(entry);
        if (server == null) {
          throw new Lost();
        }
        err.println("wharf-agent: chunk at " + start + " refused (" + status + (r.code() == null ? "" : " " + r.code())
            + "); the gateway holds " + server[0] + " bytes, going on from there");
        offset = server[0];
        continue;
      }
      if (status == 404 || status == 410) {
        throw new Lost();
      }
      if (status == 422 && "checksum_mismatch".equals(r.code())) {
        manifest.delete(path);
        requireUnchanged(path, stat, null);
        throw new AgentException(Exit.REFUSED, "the gateway computed another SHA-256 for " + path.getFileName()
            + " than the agent did; the upload is dropped, run again to upload it anew");
      }
      if (status == 413) {
        manifest.delete(path);
        throw new AgentException(Exit.TOO_LARGE, path.getFileName() + " is larger than the gateway accepts: " + r.getMessage());
      }
      throw new AgentException(Exit.REFUSED, "upload of " + path.getFileName() + " refused: " + r.getMessage());
    }
    return offset;
  }

  /** The gateway no longer knows the upload (404 on PATCH or HEAD): completed meanwhile, or expired. */
  private static final class Lost extends RuntimeException {
    Lost() {
      super(null, null, false, false);
    }
  }

  /** {@code [offset, length]} from {@code HEAD}, or null when the gateway does not know the upload (404/410). */
  private long[] head(UploadManifest.Entry entry) {
    HttpResponse<byte[]> response = gateway.send("status of upload " + entry.fileId(),
        () -> tus(entry.location(), Duration.ofSeconds(30)).method("HEAD", HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofByteArray());
    int status = response.statusCode();
    if (status == 404 || status == 410) {
      return null;
    }
    if (status / 100 != 2) {
      throw new AgentException(Exit.REFUSED, "the gateway refused the status of upload " + entry.fileId() + ": " + status);
    }
    long offset = response.headers().firstValue("Upload-Offset").map(Long::parseLong).orElse(0L);
    long length = response.headers().firstValue("Upload-Length").map(Long::parseLong).orElse(entry.size());
    return new long[] {offset, length};
  }

  /** After a 404 on HEAD: was the upload completed (the file exists past {@code uploading})? */
  private boolean completedOnGateway(UploadManifest.Entry entry) {
    try {
      JsonNode file = gateway.json("status of file " + entry.fileId(),
          () -> gateway.request("/v1/files/" + entry.fileId(), Duration.ofSeconds(30)).GET().build());
      return file != null && !"uploading".equals(file.path("status").asText()) && !"deleted".equals(file.path("status").asText());
    } catch (Refusal r) {
      return false;
    }
  }

  /** Ends an upload the agent will not finish (best effort: the gateway's expiry sweeps it otherwise). */
  private void terminate(UploadManifest.Entry entry) {
    try {
      gateway.send("terminate upload " + entry.fileId(),
          () -> tus(entry.location(), Duration.ofSeconds(30)).DELETE().build(), HttpResponse.BodyHandlers.discarding());
    } catch (AgentException e) {
      if (e.exit() == Exit.UNAUTHORIZED || e.exit() == Exit.BAD_URL) {
        throw e;
      }
      err.println("wharf-agent: could not end the old upload " + entry.fileId() + " (" + e.getMessage() + "); the gateway will expire it");
    }
  }

  /** Stops (and forgets the upload) when the file is no longer what is being sent. */
  private void requireUnchanged(Path path, Stat stat, UploadManifest.Entry entry) {
    Stat now = stat(path);
    if (now.size != stat.size || now.mtimeMillis != stat.mtimeMillis) {
      if (entry != null) {
        terminate(entry);
      }
      manifest.delete(path);
      throw new AgentException(Exit.FILE_CHANGED, path + " changed while being uploaded (size or mtime differ); the upload was "
          + "dropped, run the command again to upload the new content");
    }
  }

  private HttpRequest.Builder tus(String path, Duration timeout) {
    return gateway.request(path, timeout).header("Tus-Resumable", TUS);
  }

  private static Refusal refusal(HttpResponse<byte[]> response) {
    return Gateway.refusal(response.statusCode(), response.headers().firstValue("Content-Type"),
        new String(response.body(), StandardCharsets.UTF_8));
  }

  private record Stat(long size, long mtimeMillis) {}

  private static Stat stat(Path path) {
    try {
      BasicFileAttributes attrs = Files.readAttributes(path, BasicFileAttributes.class);
      if (!attrs.isRegularFile()) {
        throw new AgentException(Exit.BAD_FILE, path + " is not a regular file");
      }
      return new Stat(attrs.size(), attrs.lastModifiedTime().toMillis());
    } catch (IOException e) {
      throw new AgentException(Exit.BAD_FILE, "cannot read " + path + ": " + e.getMessage());
    }
  }

  private static Path resolve(Path file) {
    try {
      return file.toRealPath();
    } catch (IOException e) {
      throw new AgentException(Exit.BAD_FILE, "no such file: " + file);
    }
  }

  private static String contentType(Path path) {
    try {
      return Optional.ofNullable(Files.probeContentType(path)).orElse("application/octet-stream");
    } catch (IOException e) {
      return "application/octet-stream";
    }
  }

  private static String b64(String value) {
    return Base64.getEncoder().encodeToString(value.getBytes(StandardCharsets.UTF_8));
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
