package dev.wharf.bench;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What a benchmark run started, stopped last-started-first at the end, on failure, or from a shutdown
 * hook; closing twice is harmless, and one thing that fails to stop does not keep the others running.
 */
final class Teardown implements AutoCloseable {

  private final String name;
  private final Deque<AutoCloseable> toClose = new ArrayDeque<>();
  private final AtomicBoolean closed = new AtomicBoolean();

  Teardown(String name) {
    this.name = name;
  }

  /** Registers {@code resource} to be closed before everything registered earlier. */
  synchronized <T extends AutoCloseable> T push(T resource) {
    toClose.push(resource);
    return resource;
  }

  /** Registers the deletion of a temporary folder and everything in it. */
  void deleteTreeLater(Path root) {
    push(() -> deleteTree(root));
  }

  @Override
  public synchronized void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    while (!toClose.isEmpty()) {
      AutoCloseable next = toClose.pop();
      try {
        next.close();
      } catch (Exception e) {
        System.err.println(name + ": could not stop " + next + ": " + e);
      }
    }
  }

  private static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        Files.delete(file);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
        Files.delete(dir);
        return FileVisitResult.CONTINUE;
      }
    });
  }
}
