package dev.wharf.agent.inbox;

import dev.wharf.agent.AgentException;
import dev.wharf.agent.Exit;
import dev.wharf.agent.Units;
import dev.wharf.agent.http.Backoff;
import dev.wharf.agent.http.Gateway;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Brings one delivery's bytes into the inbox folder safely: written to {@code .wharf-<id>.part}, resumed with
 * {@code Range} (and {@code If-Range} on the SHA-256 ETag) after a cut, checked against the SHA-256, fsynced,
 * renamed to its name and the folder fsynced. A file already there with the right SHA-256 is not fetched
 * again. A half-written file never appears under its name.
 */
final class Fetcher {

  private static final int BUFFER = 64 * 1024;
  private static final int MAX_MISMATCHES = 3;

  /** What became of a fetch. */
  sealed interface Outcome {}

  /** The file is safely on disk at {@code path}; {@code fetched} is false when it was already there. */
  record Stored(Path path, boolean fetched) implements Outcome {}

  /** The delivery is gone (acked elsewhere, expired, swept): 404. */
  record Gone() implements Outcome {}

  /** The bytes never matched the SHA-256 the gateway listed. */
  record Corrupt(String reason) implements Outcome {}

  private final Gateway gateway;
  private final Path dir;
  private final long keepFree;
  private final PrintStream err;
  private final Duration stallTimeout;

  private static final ScheduledExecutorService WATCHDOG = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "wharf-agent-fetch-watchdog");
    t.setDaemon(true);
    return t;
  });

  Fetcher(Gateway gateway, Path dir, long keepFree, Duration stallTimeout, PrintStream err) {
    this.stallTimeout = stallTimeout;
    this.gateway = gateway;
    this.dir = dir;
    this.keepFree = keepFree;
    this.err = err;
  }

  Outcome fetch(Delivery d) {
    Path target = target(d);
    if (target == null) {
      return new Stored(present(d), false);
    }
    Path part = dir.resolve(".wharf-" + d.id() + ".part");
    int mismatches = 0;
    Backoff backoff = gateway.newBackoff();
    Partial partial = Partial.open(part, d.size());
    while (true) {
      checkSpace(d.size() - partial.length);
      FetchStep step = fetchFrom(d, partial);
      switch (step) {
        case GONE -> {
          partial.discard();
          return new Gone();
        }
        case CUT -> {
          Duration wait = backoff.next(-1);
          err.println("wharf-agent: fetch of " + d.id() + " cut at " + partial.length + " of " + d.size() + " bytes; resuming in "
              + Units.durationText(wait));
          Backoff.pause(wait);
        }
        case COMPLETE -> {
          String sha = HexFormat.of().formatHex(partial.digest.digest());
          if (partial.length == d.size() && sha.equals(d.sha256())) {
            partial.commit(target, dir);
            return new Stored(target, true);
          }
          partial.discard();
          mismatches++;
          err.println("wharf-agent: delivery " + d.id() + " arrived with SHA-256 " + sha + ", expected " + d.sha256() + " ("
              + mismatches + " of " + MAX_MISMATCHES + ")");
          if (mismatches >= MAX_MISMATCHES) {
            return new Corrupt("content did not match its sha256 after " + MAX_MISMATCHES + " fetches");
          }
          partial = Partial.open(part, d.size());
        }
      }
    }
  }

  private enum FetchStep { COMPLETE, CUT, GONE }

  /** One GET from where the partial file ends, to the end of the body or the first network error. */
  private FetchStep fetchFrom(Delivery d, Partial partial) {
    long offset = partial.length;
    String path = "/v1/inbox/" + d.id() + "/content";
    HttpResponse<InputStream> response = gateway.send("fetch " + d.id(), () -> {
      HttpRequest.Builder b = gateway.request(path, Duration.ofSeconds(60)).GET();
      if (offset > 0) {
        b.header("Range", "bytes=" + offset + "-").header("If-Range", "\"" + d.sha256() + "\"");
      }
      return b.build();
    }, HttpResponse.BodyHandlers.ofInputStream());
    int status = response.statusCode();
    if (status == 404) {
      Gateway.bodyText(response.body());
      return FetchStep.GONE;
    }
    if (status == 416) {
      Gateway.bodyText(response.body());
      partial.restart();
      return FetchStep.CUT;
    }
    if (status == 200 && offset > 0) {
      partial.restart();
    } else if (status == 206) {
      String range = response.headers().firstValue("Content-Range").orElse("");
      if (!range.startsWith("bytes " + offset + "-")) {
        Gateway.bodyText(response.body());
        partial.restart();
        return FetchStep.CUT;
      }
    } else if (status != 200) {
      throw new AgentException(Exit.REFUSED, "fetch of delivery " + d.id() + " refused: "
          + Gateway.refusal(status, response.headers().firstValue("Content-Type"), Gateway.bodyText(response.body())).getMessage());
    }
    byte[] buffer = new byte[BUFFER];
    InputStream in = response.body();
    // The JDK client has no read timeout: a link that goes silent without breaking would hold the loop
    // forever. The watchdog closes the stream when no byte came for the stall timeout.
    AtomicLong lastByte = new AtomicLong(System.nanoTime());
    AtomicBoolean stalled = new AtomicBoolean();
    long tick = Math.max(50, stallTimeout.toMillis() / 4);
    ScheduledFuture<?> watch = WATCHDOG.scheduleAtFixedRate(() -> {
      if (System.nanoTime() - lastByte.get() > stallTimeout.toNanos() && stalled.compareAndSet(false, true)) {
        closeQuietly(in);
      }
    }, tick, tick, TimeUnit.MILLISECONDS);
    try {
      while (true) {
        int n;
        try {
          n = in.read(buffer);
        } catch (IOException e) {
          n = -2;
        }
        if (stalled.get()) {
          err.println("wharf-agent: fetch of " + d.id() + " stalled for " + Units.durationText(stallTimeout));
          return FetchStep.CUT;
        }
        if (n == -2) {
          return FetchStep.CUT;
        }
        if (n < 0) {
          return partial.length < d.size() ? FetchStep.CUT : FetchStep.COMPLETE;
        }
        lastByte.set(System.nanoTime());
        partial.append(buffer, n);
        if (partial.length > d.size()) {
          return FetchStep.COMPLETE;
        }
      }
    } finally {
      watch.cancel(false);
      closeQuietly(in);
    }
  }

  private static void closeQuietly(InputStream in) {
    try {
      in.close();
    } catch (IOException e) {
      // closing a broken stream
    }
  }

  /**
   * Deletes the {@code .part} files of deliveries no longer in the inbox (expired, or finished by another
   * agent): {@code pending} is every id the inbox listed in a full walk.
   */
  void dropPartsExcept(java.util.Set<String> pending) {
    try (var parts = Files.newDirectoryStream(dir, ".wharf-*.part")) {
      for (Path part : parts) {
        String name = part.getFileName().toString();
        String id = name.substring(".wharf-".length(), name.length() - ".part".length());
        if (!pending.contains(id)) {
          Files.deleteIfExists(part);
          err.println("wharf-agent: dropped " + name + " (its delivery is no longer in the inbox)");
        }
      }
    } catch (IOException e) {
      err.println("wharf-agent: could not tidy the partial files in " + dir + ": " + e.getMessage());
    }
  }

  /** The name to store under, or null when a file with this content is already there. */
  private Path target(Delivery d) {
    if (present(d) != null) {
      return null;
    }
    Path plain = dir.resolve(d.safeName());
    return Files.exists(plain) ? alternative(d) : plain;
  }

  /** The stored copy of this delivery, if one is already in the folder (under its name or the alternative). */
  private Path present(Delivery d) {
    for (Path candidate : new Path[] {dir.resolve(d.safeName()), alternative(d)}) {
      if (sameContent(candidate, d)) {
        return candidate;
      }
    }
    return null;
  }

  /** {@code name.<first 8 of id>.ext}: where a delivery goes when another file holds its name. */
  private Path alternative(Delivery d) {
    String name = d.safeName();
    int dot = name.lastIndexOf('.');
    String tag = d.id().substring(0, Math.min(8, d.id().length()));
    return dir.resolve(dot > 0 ? name.substring(0, dot) + "." + tag + name.substring(dot) : name + "." + tag);
  }

  private static boolean sameContent(Path file, Delivery d) {
    try {
      if (!Files.isRegularFile(file) || Files.size(file) != d.size()) {
        return false;
      }
      MessageDigest digest = sha256();
      byte[] buffer = new byte[BUFFER];
      try (InputStream in = Files.newInputStream(file)) {
        int n;
        while ((n = in.read(buffer)) >= 0) {
          digest.update(buffer, 0, n);
        }
      }
      return HexFormat.of().formatHex(digest.digest()).equals(d.sha256());
    } catch (IOException e) {
      return false;
    }
  }

  private void checkSpace(long needed) {
    try {
      long usable = Files.getFileStore(dir).getUsableSpace();
      if (usable - needed < keepFree) {
        throw new AgentException(Exit.LOCAL_STORAGE, "not enough space in " + dir + ": the delivery needs " + Units.human(needed)
            + ", " + Units.human(usable) + " free" + (keepFree > 0 ? ", " + Units.human(keepFree) + " to keep free" : ""));
      }
    } catch (IOException e) {
      throw new AgentException(Exit.LOCAL_STORAGE, "cannot check the space in " + dir + ": " + e.getMessage());
    }
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The {@code .part} file being written, its length and the running SHA-256 of what it holds. */
  private static final class Partial {
    final Path path;
    final FileChannel channel;
    final MessageDigest digest = sha256();
    long length;

    private Partial(Path path, FileChannel channel) {
      this.path = path;
      this.channel = channel;
    }

    /** Opens (or creates) the part file; what it already holds is hashed (streamed) so a fetch can resume after it. */
    static Partial open(Path path, long expectedSize) {
      try {
        FileChannel channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        Partial p = new Partial(path, channel);
        if (channel.size() > expectedSize) {
          channel.truncate(0);
        }
        ByteBuffer buffer = ByteBuffer.allocate(BUFFER);
        channel.position(0);
        while (channel.read(buffer) > 0) {
          buffer.flip();
          p.digest.update(buffer);
          buffer.clear();
        }
        p.length = channel.position();
        return p;
      } catch (IOException e) {
        throw storage(path, e);
      }
    }

    void append(byte[] bytes, int n) {
      try {
        ByteBuffer buffer = ByteBuffer.wrap(bytes, 0, n);
        while (buffer.hasRemaining()) {
          channel.write(buffer);
        }
      } catch (IOException e) {
        throw storage(path, e);
      }
      digest.update(bytes, 0, n);
      length += n;
    }

    void restart() {
      try {
        channel.truncate(0);
        channel.position(0);
      } catch (IOException e) {
        throw storage(path, e);
      }
      digest.reset();
      length = 0;
    }

    /** fsync, rename over {@code target}, fsync the folder: after this the file survives a power cut under its name. */
    void commit(Path target, Path dir) {
      try {
        channel.force(true);
        channel.close();
        Files.move(path, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        try (FileChannel folder = FileChannel.open(dir, StandardOpenOption.READ)) {
          folder.force(true);
        } catch (IOException e) {
          // Some file systems cannot fsync a directory; the rename itself is still atomic.
        }
      } catch (IOException e) {
        throw storage(target, e);
      }
    }

    void discard() {
      try {
        channel.close();
        Files.deleteIfExists(path);
      } catch (IOException e) {
        throw storage(path, e);
      }
    }

    static AgentException storage(Path path, IOException e) {
      return new AgentException(Exit.LOCAL_STORAGE, "cannot write " + path + ": " + e.getMessage(), e);
    }
  }
}
