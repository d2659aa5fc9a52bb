package dev.wharf.agent.upload;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.wharf.agent.AgentException;
import dev.wharf.agent.Exit;
import dev.wharf.agent.http.Gateway;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The local record of uploads, one small JSON file per local file under {@code <state-dir>/uploads/}, named
 * by the SHA-256 of the file's absolute path. It holds the size and mtime the upload began with, the
 * whole-file SHA-256, the gateway and tus location, and whether the upload completed: enough to resume after
 * a kill or a reboot, to notice a changed file, and never to upload one file twice. Each write is atomic
 * (temporary file, fsync, rename).
 */
final class UploadManifest {

  /** One upload as recorded. {@code location} is the tus URL path; {@code fileId} its last segment. */
  record Entry(String path, long size, long mtimeMillis, String sha256, String gateway, String location, String fileId, boolean completed) {

    Entry asCompleted() {
      return new Entry(path, size, mtimeMillis, sha256, gateway, location, fileId, true);
    }
  }

  private final Path dir;

  UploadManifest(Path stateDir) {
    this.dir = stateDir.resolve("uploads");
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new AgentException(Exit.BAD_FILE, "cannot create the state folder " + dir + ": " + e.getMessage());
    }
  }

  Entry load(Path file) {
    Path entry = entryFile(file);
    if (!Files.exists(entry)) {
      return null;
    }
    try {
      var node = Gateway.JSON.readTree(Files.readString(entry));
      return new Entry(node.path("path").asText(), node.path("size").asLong(), node.path("mtime_ms").asLong(),
          node.path("sha256").asText(), node.path("gateway").asText(), node.path("location").asText(null),
          node.path("file_id").asText(null), node.path("completed").asBoolean());
    } catch (IOException e) {
      // A torn or foreign entry is as good as none: the upload starts over.
      return null;
    }
  }

  void save(Entry e) {
    ObjectNode node = Gateway.JSON.createObjectNode()
        .put("path", e.path()).put("size", e.size()).put("mtime_ms", e.mtimeMillis()).put("sha256", e.sha256())
        .put("gateway", e.gateway()).put("location", e.location()).put("file_id", e.fileId()).put("completed", e.completed());
    Path entry = entryFile(Path.of(e.path()));
    Path tmp = entry.resolveSibling(entry.getFileName() + ".tmp");
    try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      channel.write(java.nio.ByteBuffer.wrap(node.toString().getBytes(StandardCharsets.UTF_8)));
      channel.force(true);
    } catch (IOException ex) {
      throw new AgentException(Exit.BAD_FILE, "cannot write the upload state " + tmp + ": " + ex.getMessage());
    }
    try {
      Files.move(tmp, entry, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException ex) {
      throw new AgentException(Exit.BAD_FILE, "cannot write the upload state " + entry + ": " + ex.getMessage());
    }
  }

  void delete(Path file) {
    try {
      Files.deleteIfExists(entryFile(file));
    } catch (IOException e) {
      throw new AgentException(Exit.BAD_FILE, "cannot remove the upload state of " + file + ": " + e.getMessage());
    }
  }

  /** Holds the file's lock for as long as one agent uploads it; a second agent on the same file is refused. */
  AutoCloseable lock(Path file) {
    Path lockFile = dir.resolve(key(file) + ".lock");
    try {
      FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      FileLock lock;
      try {
        lock = channel.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null;
      }
      if (lock == null) {
        channel.close();
        throw new AgentException(Exit.REFUSED, "another wharf-agent is uploading " + file + " right now");
      }
      FileLock held = lock;
      return () -> {
        held.release();
        channel.close();
      };
    } catch (IOException e) {
      throw new AgentException(Exit.BAD_FILE, "cannot lock " + lockFile + ": " + e.getMessage());
    }
  }

  private Path entryFile(Path file) {
    return dir.resolve(key(file) + ".json");
  }

  private static String key(Path file) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(digest.digest(file.toString().getBytes(StandardCharsets.UTF_8))).substring(0, 32);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
