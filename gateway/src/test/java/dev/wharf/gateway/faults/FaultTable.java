package dev.wharf.gateway.faults;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * The fault suite's summary (issue 10): every fault scenario records one row, and the rows are printed as one table
 * at the end of the run ({@link #main}). Rows go to {@code target/fault-report.tsv} of the module under test, so a
 * run of several test JVMs still ends in one table; the gateway build deletes the file before its tests
 * (process-test-classes), so the table holds one run's scenarios.
 *
 * <p>Columns: scenario, load, faults injected, acknowledged (requests the gateway answered as done: 201, PUBACK,
 * ack), lost (acknowledged but not found afterwards), unexpected (answers that are neither success nor an honest
 * 4xx/503 with Retry-After; a 500 counts here).
 */
public final class FaultTable {

  static final Path FILE = Path.of("target", "fault-report.tsv");

  private FaultTable() {
  }

  /** Appends one row and echoes it to the test's output. Tabs and newlines in the texts are replaced by spaces. */
  public static synchronized void record(String scenario, String load, String faults, long acknowledged, long lost,
      long unexpected) {
    String row = String.join("\t", clean(scenario), clean(load), clean(faults), Long.toString(acknowledged),
        Long.toString(lost), Long.toString(unexpected));
    System.out.println("fault-table: " + row.replace('\t', '|'));
    try {
      Files.createDirectories(FILE.getParent());
      Files.writeString(FILE, row + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String clean(String s) {
    return s.replace('\t', ' ').replace('\n', ' ').replace('\r', ' ');
  }

  /** Prints the rows recorded so far as a Markdown table (the faults profile runs this after the tests). */
  public static void main(String[] args) throws IOException {
    Path file = args.length > 0 ? Path.of(args[0]) : FILE;
    if (!Files.exists(file)) {
      System.out.println("fault table: no scenario recorded (" + file + " absent)");
      return;
    }
    List<String> rows = Files.readAllLines(file, StandardCharsets.UTF_8);
    System.out.println();
    System.out.println("| scenario | load | faults injected | acknowledged | lost | non-201/503 answers |");
    System.out.println("|---|---|---|---|---|---|");
    for (String row : rows) {
      if (!row.isBlank()) {
        System.out.println("| " + row.replace("\t", " | ") + " |");
      }
    }
    System.out.println();
  }
}
