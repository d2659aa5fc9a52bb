package dev.wharf.agent.upload;

import dev.wharf.agent.Units;
import java.io.PrintStream;
import java.util.Locale;

/**
 * Upload progress: a bar redrawn in place on a terminal, or one plain line per committed chunk otherwise (for
 * logs, journald and the tests that read them).
 */
final class Progress {

  private final PrintStream out;
  private final boolean bar;
  private final String name;
  private final long total;
  private long lastDraw;

  Progress(PrintStream out, boolean bar, String name, long total) {
    this.out = out;
    this.bar = bar;
    this.name = name;
    this.total = total;
  }

  /** Bytes handed to the network so far (the bar moves with them; a line waits for the commit). */
  void sent(long offset) {
    long now = System.nanoTime();
    if (bar && now - lastDraw > 200_000_000L) {
      lastDraw = now;
      draw(offset);
    }
  }

  /** The gateway holds {@code offset} bytes durably. */
  void committed(long offset) {
    if (bar) {
      draw(offset);
    } else {
      out.println(name + ": " + offset + " of " + total + " bytes (" + percent(offset) + "%)");
    }
  }

  void finish() {
    if (bar) {
      draw(total);
      out.println();
    }
  }

  private void draw(long offset) {
    int width = 30;
    int filled = total == 0 ? width : (int) (offset * width / total);
    out.print("\r" + name + " [" + "#".repeat(filled) + " ".repeat(width - filled) + "] " + percent(offset) + "% "
        + Units.human(offset) + " / " + Units.human(total) + "   ");
    out.flush();
  }

  private String percent(long offset) {
    return total == 0 ? "100" : String.format(Locale.ROOT, "%d", offset * 100 / total);
  }
}
