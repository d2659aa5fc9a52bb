package dev.wharf.agent.upload;

import dev.wharf.agent.AgentException;
import dev.wharf.agent.Exit;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.function.LongConsumer;

/** A byte range of a local file, read in small buffers: the memory an upload uses does not grow with the file. */
final class FileRegion {

  static final int BUFFER = 64 * 1024;

  private FileRegion() {}

  /** Feeds {@code length} bytes from {@code offset} into {@code digest}. */
  static void digest(Path file, long offset, long length, MessageDigest digest) {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      ByteBuffer buffer = ByteBuffer.allocate(BUFFER);
      long left = length;
      long position = offset;
      while (left > 0) {
        buffer.clear().limit((int) Math.min(BUFFER, left));
        int n = channel.read(buffer, position);
        if (n < 0) {
          throw new AgentException(Exit.FILE_CHANGED, file + " got shorter while being read");
        }
        buffer.flip();
        digest.update(buffer);
        position += n;
        left -= n;
      }
    } catch (IOException e) {
      throw new AgentException(Exit.BAD_FILE, "cannot read " + file + ": " + e.getMessage());
    }
  }

  /** A stream over the range that keeps to {@code rate} and reports each absolute position read. */
  static InputStream stream(Path file, long offset, long length, RateLimit rate, LongConsumer position) {
    return new InputStream() {
      private FileChannel channel;
      private long read;

      @Override
      public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        if (read >= length) {
          return -1;
        }
        if (channel == null) {
          channel = FileChannel.open(file, StandardOpenOption.READ);
        }
        int want = (int) Math.min(Math.min(len, BUFFER), length - read);
        int n = channel.read(ByteBuffer.wrap(b, off, want), offset + read);
        if (n < 0) {
          throw new IOException(file + " got shorter while being sent");
        }
        rate.take(n);
        read += n;
        position.accept(offset + read);
        return n;
      }

      @Override
      public void close() throws IOException {
        if (channel != null) {
          channel.close();
        }
      }
    };
  }
}
